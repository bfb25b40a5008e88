"""Audit endpoints: event search and exports, chain status, verify, reconcile, insider risk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from townsquare.access import insider
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import AUDIT_CHECKPOINT, AUDIT_EXPORT, AUDIT_READ
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.eventlog import chain
from townsquare.eventlog import query as aq
from townsquare.eventlog import reconcile as audit_reconcile
from townsquare.eventlog.events import iso
from townsquare.runtime import Runtime

router = APIRouter(prefix="/v1/audit", tags=["audit"])

Reader = Annotated[Principal, Depends(require(AUDIT_READ))]
Exporter = Annotated[Principal, Depends(require(AUDIT_EXPORT))]

EXPORT_DOC = (
    "Streams every matching event (no limit), oldest first. CSV columns, in order: "
    + ", ".join(aq.CSV_COLUMNS)
    + ". `versions` and `payload` are canonical JSON; `flags` is ';'-joined (protected, insider_risk). "
    'Sealed personal fields read "[sealed]"; cells that a spreadsheet would run as a formula '
    "(starting with = + - @) are prefixed with an apostrophe. The JSON export is "
    '{"exported_at", "filters", "events": [...]}, each event as in GET /v1/audit/events.'
)


def event_filters(
    actor: Annotated[str | None, Query(description="Exact actor, e.g. user:alice")] = None,
    subject_type: Annotated[str | None, Query(description="post, account, user, policy, ...")] = None,
    subject_id: Annotated[str | None, Query(description="The subject's id (platform id, username)")] = None,
    type_: Annotated[
        str | None, Query(alias="type", description="Event type, or a prefix ending in *, e.g. action.*")
    ] = None,
    since: Annotated[str | None, Query(description="ISO 8601; events at or after")] = None,
    until: Annotated[str | None, Query(description="ISO 8601; events at or before")] = None,
) -> aq.EventFilters:
    """The shared filter query parameters, validated (422 names the field)."""
    return aq.parse_filters(
        actor=actor, subject_type=subject_type, subject_id=subject_id, type=type_, since=since, until=until
    )


Filters = Annotated[aq.EventFilters, Depends(event_filters)]


@router.get("/events", responses=ERRORS, summary="Search the event log, newest first")
def list_events(
    rt: RT,
    _: Reader,
    filters: Filters,
    limit: Annotated[int, Query(description=f"Page size, 1 to {aq.MAX_LIMIT}")] = aq.DEFAULT_LIMIT,
    cursor: Annotated[int | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    size, after = aq.check_limit(limit), aq.parse_cursor(cursor)
    with transaction(rt.sessions) as session:
        rows, next_cursor = aq.page(session, filters, limit=size, cursor=after)
        return {"events": aq.views(session, rows), "next_cursor": next_cursor}


def _export(rt: Runtime, filters: aq.EventFilters, fmt: str) -> StreamingResponse:
    now = rt.now()
    rows = aq.iter_events(rt.sessions, filters)
    body: Iterator[str]
    if fmt == "json":
        body, media = aq.json_stream(rows, filters, now), "application/json"
    else:
        body, media = aq.csv_stream(rows), "text/csv; charset=utf-8"
    name = f"townsquare-audit-{now.strftime('%Y%m%dT%H%M%SZ')}.{fmt}"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/events.csv", responses=ERRORS, summary="Export matching events as CSV", description=EXPORT_DOC)
def export_csv(rt: RT, _: Exporter, filters: Filters) -> StreamingResponse:
    return _export(rt, filters, "csv")


@router.get(
    "/export", responses=ERRORS, summary="Export matching events as CSV or JSON", description=EXPORT_DOC
)
def export(
    rt: RT, _: Exporter, filters: Filters, format: Literal["csv", "json"] = "csv"
) -> StreamingResponse:
    return _export(rt, filters, format)


@router.get("/status", responses=ERRORS, summary="Chain head, latest signed checkpoint, last verification")
def status(rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return aq.status(rt, session)


@router.get("/verify", responses=ERRORS, summary="Verify the whole event chain and its signed checkpoints")
def verify(rt: RT, _: Reader) -> dict[str, Any]:
    return aq.run_verification(rt).view()


@router.post("/verify", responses=ERRORS, summary="Verify the chain again now; GET /status shows the result")
def verify_now(rt: RT, _: Reader) -> dict[str, Any]:
    return aq.run_verification(rt).view()


@router.post(
    "/reconcile",
    responses=ERRORS,
    summary="Replay the event log and list every projection that disagrees with it (records nothing)",
)
def reconcile(rt: RT, _: Reader) -> dict[str, Any]:
    return {"reconciled_at": iso(rt.now()), **audit_reconcile.run(rt).view()}


@router.post("/checkpoint", responses=ERRORS, summary="Sign the chain head now")
def checkpoint(rt: RT, _: Annotated[Principal, Depends(require(AUDIT_CHECKPOINT))]) -> dict[str, Any]:
    return chain.checkpoint(rt)


@router.get("/insider", responses=ERRORS, summary="Evaluate the insider-risk rule now (records nothing)")
def insider_findings(rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        findings = insider.evaluate(session, rt)
        return {
            "findings": [f.view() for f in findings],
            "open_alerts": [insider.alert_view(a) for a in insider.open_alerts(session)],
        }


@router.post("/insider", responses=ERRORS, summary="Evaluate the insider-risk rule and raise new alerts")
def insider_record(rt: RT, who: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        findings = insider.evaluate(session, rt)
        created = insider.record_alerts(session, findings, actor=who.actor, now=rt.now())
        return {
            "findings": [f.view() for f in findings],
            "new_alerts": [insider.alert_view(a) for a in created],
        }
