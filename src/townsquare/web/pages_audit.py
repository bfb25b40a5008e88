"""The audit view: search the event log, export it, see the chain's status and open insider-risk alerts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.orm import Session

from townsquare.access import insider
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import AUDIT_EXPORT, AUDIT_READ
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import Invalid
from townsquare.eventlog import query as aq
from townsquare.web.render import csrf_token, page
from townsquare.web.verify_job import job_for

router = APIRouter()

PAGE_SIZE = 50
FILTER_FIELDS = ("actor", "subject_type", "subject_id", "type", "since", "until")


def _links(filters: aq.EventFilters, next_cursor: int | None) -> dict[str, str | None]:
    params = filters.params()
    return {
        "next": f"/audit?{urlencode({**params, 'cursor': next_cursor})}" if next_cursor else None,
        "csv": f"/v1/audit/export?{urlencode({**params, 'format': 'csv'})}",
        "json": f"/v1/audit/export?{urlencode({**params, 'format': 'json'})}",
        "verify": f"/audit?{urlencode({**params, 'verify': 1})}",
        "newest": f"/audit?{urlencode(params)}",
    }


def _events(session: Session, raw: dict[str, str], cursor: str) -> dict[str, Any]:
    """Filters, the page of events and links; or the error naming the bad field."""
    try:
        filters = aq.parse_filters(**raw)
        rows, next_cursor = aq.page(session, filters, limit=PAGE_SIZE, cursor=aq.parse_cursor(cursor))
    except Invalid as exc:
        field = (exc.detail or {}).get("field", "") if isinstance(exc.detail, dict) else ""
        return {"error": exc.message, "error_field": field, "events": [], "links": None}
    return {
        "error": None,
        "error_field": "",
        "events": aq.views(session, rows),
        "links": _links(filters, next_cursor),
        "paged": cursor != "",
    }


def actor_filter(actor: str) -> str:
    """The log's form of an actor typed on the page: a bare name is a staff user's."""
    actor = actor.strip()
    if actor.startswith("@"):
        actor = actor[1:]
    return actor if not actor or ":" in actor else f"user:{actor}"


@router.get("/audit/verify", include_in_schema=False)
def verify_progress(rt: RT, _: Annotated[Principal, Depends(require(AUDIT_READ))]) -> JSONResponse:
    """How far the background verification has got (the audit page polls this)."""
    return JSONResponse(job_for(rt).progress(), headers={"Cache-Control": "no-store"})


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(AUDIT_READ))],
    actor: str = "",
    subject_type: str = "",
    subject_id: str = "",
    type: str = "",
    since: str = "",
    until: str = "",
    cursor: str = "",
    verify: str = "",
) -> HTMLResponse:
    """The audit view (server-rendered; no script)."""
    raw = {
        "actor": actor,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "type": type,
        "since": since,
        "until": until,
    }
    job = job_for(rt)
    if verify == "1":
        job.start()  # in the background: the page shows its progress and the result when it is done
    # People name actors by user name; the log names them `user:<name>` (other kinds keep their prefix).
    query = {**raw, "actor": actor_filter(actor)}
    with transaction(rt.sessions) as session:
        found = _events(session, query, cursor)
        context = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "raw": raw,
            "can_export": who.has(AUDIT_EXPORT),
            "chain": aq.status(rt, session),
            "alerts": [insider.alert_view(a) for a in insider.open_alerts(session, limit=50)],
            "verifying": job.progress() if job.running else None,
            **found,
        }
    return page(request, "audit.html", status_code=422 if found["error"] else 200, **context)
