"""The transparency report, its publication and Part 11 texts, and statement-of-reasons export, over HTTP."""

from __future__ import annotations

import io
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access.approvals import approval_view
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import TRANSPARENCY_EXPORT, TRANSPARENCY_READ
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import Invalid
from townsquare.transparency import publish, qualitative, sor
from townsquare.transparency import report as builder
from townsquare.transparency.templates_dsa import PART_FILES, to_csv

router = APIRouter(prefix="/v1", tags=["transparency"])


class PublishRequest(BaseModel):
    """Ask a second person to publish the report for a period."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    period_from: str = Field(alias="from", description="First day (YYYY-MM-DD)")
    period_to: str = Field(alias="to", description="Last day (YYYY-MM-DD), included")
    reason: str = Field(min_length=1, max_length=2000)


class TextsEdit(BaseModel):
    """Operator edits to Part 11, by indicator (the template's wording)."""

    model_config = ConfigDict(extra="forbid")
    texts: dict[str, str] = Field(min_length=1)


@router.get("/reports/transparency", responses=ERRORS, summary="The DSA transparency report for a period")
def transparency_report(
    rt: RT,
    _: Annotated[Principal, Depends(require(TRANSPARENCY_READ))],
    period_from: Annotated[str | None, Query(alias="from")] = None,
    period_to: Annotated[str | None, Query(alias="to")] = None,
    format: str = "json",
    part: str | None = None,
) -> Any:
    """JSON (the report), or CSV: one part (`part=Part_4_notices.csv`) or a ZIP of all eleven."""
    if format not in builder.FORMATS:
        raise Invalid(f"format must be one of {', '.join(builder.FORMATS)}", {"field": "format"})
    if part is not None and (format != "csv" or part not in PART_FILES):
        raise Invalid("part must name one of the eleven CSV parts, with format=csv", {"field": "part"})
    period = builder.parse_period(period_from, period_to, rt.now().date())
    with transaction(rt.sessions) as session:
        rep = builder.build(session, rt, period)
    if format == "json":
        return rep
    if part is not None:
        rows = rep["parts"][part]
        return Response(to_csv(rows[0], rows[1:]), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{part}"'})  # fmt: skip
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in builder.csv_files(rep).items():
            zf.writestr(name, text)
    name = f"transparency-{period.first}-{period.last}.zip"
    return Response(buf.getvalue(), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post(
    "/reports/transparency/publish", status_code=202, responses=ERRORS, summary="Ask to publish (two people)"
)
def request_publication(
    data: PublishRequest, rt: RT, who: Annotated[Principal, Depends(require(TRANSPARENCY_EXPORT))]
) -> dict[str, Any]:
    """Opens an approval; a second, independent person holding transparency:publish approves it."""
    period = builder.parse_period(data.period_from, data.period_to, rt.now().date())
    with transaction(rt.sessions) as session:
        row, approval = publish.request(session, rt, who, period, data.reason)
        return {"report": row.id, "state": row.state, "approval": approval_view(approval)}


@router.get("/reports/transparency/texts", responses=ERRORS, summary="Part 11 texts (edited or prefilled)")
def texts(rt: RT, _: Annotated[Principal, Depends(require(TRANSPARENCY_READ))]) -> dict[str, Any]:
    """Each Part 11 indicator with the operator's text, or the prefill from what the system knows."""
    with transaction(rt.sessions) as session:
        return {"texts": qualitative.current(session, rt)}


@router.put("/reports/transparency/texts", responses=ERRORS, summary="Edit Part 11 texts")
def edit_texts(
    data: TextsEdit, rt: RT, who: Annotated[Principal, Depends(require(TRANSPARENCY_EXPORT))]
) -> dict[str, Any]:
    """Store new texts for the named indicators (each edit is kept)."""
    with transaction(rt.sessions) as session:
        qualitative.edit(session, rt, who.actor, data.texts)
    with transaction(rt.sessions) as session:
        return {"texts": qualitative.current(session, rt)}


@router.get("/dsa/statements", responses=ERRORS, summary="Statements of reasons after a cursor (100 at most)")
def statements(
    rt: RT,
    _: Annotated[Principal, Depends(require(TRANSPARENCY_EXPORT))],
    since: str | None = None,
    limit: Annotated[int, Query(ge=1, le=sor.BATCH)] = sor.BATCH,
) -> dict[str, Any]:
    """{"statements": [...], "next": cursor}: the body the Transparency Database takes, and where to go on."""
    with transaction(rt.sessions) as session:
        after = sor.read_cursor(session, rt, since)
        batch, last = sor.export_batch(session, rt, after, limit)
    return {"statements": batch, "next": sor.make_cursor(rt, last)}
