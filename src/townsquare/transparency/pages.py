"""Public pages: the published transparency reports with their CSVs and hashes (no sign-in needed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from townsquare.access.permissions import public
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import NotFound
from townsquare.eventlog.events import canonical_json
from townsquare.transparency import html, publish
from townsquare.transparency.templates_dsa import PART_FILES, Period, to_csv

router = APIRouter(include_in_schema=False)


@router.get("/transparency", response_class=HTMLResponse)
def published_list(request: Request, rt: RT, _: Annotated[None, Depends(public)]) -> HTMLResponse:
    """Every published report, newest first, with its SHA-256 as recorded in the event log."""
    with transaction(rt.sessions) as session:
        rows = [
            {"id": r.id, "period": Period(r.period_from, r.period_to).label, "sha256": r.sha256,
             "published": r.published_at.date().isoformat() if r.published_at else ""}
            for r in publish.published(session)
        ]  # fmt: skip
    text = html.ENV.get_template("transparency_list.html").render(reports=rows)
    return HTMLResponse(text)


@router.get("/transparency/reports/{report_id}", response_class=HTMLResponse)
def published_page(report_id: int, rt: RT, _: Annotated[None, Depends(public)]) -> HTMLResponse:
    """One published report as a page with charts and links to its files."""
    with transaction(rt.sessions) as session:
        row, rep = publish.load(session, report_id)
    files = [(name, f"/transparency/reports/{row.id}/{name}") for name in (*PART_FILES, "report.json")]
    return HTMLResponse(html.render(rep, files=files))


@router.get("/transparency/reports/{report_id}/{name}")
def published_file(report_id: int, name: str, rt: RT, _: Annotated[None, Depends(public)]) -> Response:
    """One CSV part, or report.json, of a published report (exactly as published)."""
    with transaction(rt.sessions) as session:
        row, rep = publish.load(session, report_id)
    if name == "report.json":
        return Response(canonical_json(rep), media_type="application/json")
    if name not in PART_FILES:
        raise NotFound(f"no file {name[:80]}", {"field": "name"})
    rows = rep["parts"][name]
    return Response(to_csv(rows[0], rows[1:]), media_type="text/csv; charset=utf-8")
