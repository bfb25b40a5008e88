"""The review workbench pages: queues, a queue's cases, the case view with keyboard shortcuts and the
dashboard. Server-rendered; the only script is a static file (`/static/workbench.js`), so the
Content-Security-Policy holds. Every page uses the same services as the JSON API.

A failed form comes back with every field as entered; after a decision the page says what was done
and opens the next case of the queue.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import BULK_DECIDE, CASE_DECIDE, QUEUE_VIEW
from townsquare.api_types import RowId
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import NotFound, TownsquareError
from townsquare.eventlog.events import iso
from townsquare.pipeline.refresh import refresh_states
from townsquare.review import dashboard, service, timeline, views, wellbeing, worklist
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require(QUEUE_VIEW))]
ACTIONS = ("label", "reduce_reach", "demonetise", "remove", "suspend", "ban")
SKIPPED_SHOWN = 20


def base_context(session: Session, rt: Runtime, who: Principal) -> dict[str, Any]:
    """What every workbench page needs: the caller, the CSRF token, policy areas, wellbeing."""
    return {
        "principal": who,
        "csrf_token": csrf_token(session, who),
        "areas": [(a, area_title(a)) for a in rt.policies.areas()],
        **wellbeing.context(session, rt, who),
    }


@router.get("/review", response_class=HTMLResponse)
def queues_page(request: Request, rt: RT, who: Viewer) -> HTMLResponse:
    """Every queue with its counts and oldest case."""
    with transaction(rt.sessions) as session:
        ctx = {**base_context(session, rt, who), "queues": views.queue_summary(session, rt)}
    return page(request, "review_queues.html", **ctx)


def _queue_filter(params: dict[str, str]) -> tuple[worklist.QueueFilter, str]:
    raw: dict[str, Any] = {k: v.strip() for k, v in params.items() if k in worklist.QueueFilter.model_fields}
    for key in ("min_reports", "min_age_hours", "max_age_hours"):
        if raw.get(key) == "":
            raw.pop(key)
    try:
        return worklist.QueueFilter.model_validate(raw), ""
    except ValidationError as exc:
        return worklist.QueueFilter(), error_field(exc, "filter")


def _count(value: str) -> bool:
    """A whole number as a form sends it: 1 to 9 ASCII digits (INTEGER columns hold it)."""
    return re.fullmatch(r"[0-9]{1,9}", value.strip()) is not None


def _skipped(session: Session, rt: Runtime, who: Principal, ids: str) -> list[dict[str, Any]]:
    out = []
    for part in ids.split(",")[:SKIPPED_SHOWN]:
        case = session.get(service.Case, int(part)) if _count(part) else None
        if case is not None:
            out.append(
                {"case_id": case.id, "why": worklist.why_not(session, rt, who, case) or "free again now"}
            )
    return out


@router.get("/review/queues/{queue}", response_class=HTMLResponse)
def queue_page(request: Request, queue: str, rt: RT, who: Viewer) -> HTMLResponse:
    """A queue's open cases: filters, sorting, pages with totals, protected markers."""
    if queue not in rt.router.queues:
        raise NotFound(f"no queue {queue}", {"field": "queue"})
    params = dict(request.query_params)
    filt, bad = _queue_filter(params)
    with transaction(rt.sessions) as session:
        ctx = {
            **base_context(session, rt, who),
            "queue": queue,
            "title": rt.router.queues[queue].title,
            "f": filt,
            "raw": params,
            "error_field": bad,
            "listing": worklist.page_of(session, rt, queue, filt),
            "can_decide": who.has(CASE_DECIDE),
            "skipped": _skipped(session, rt, who, params.get("skipped", "")),
            "skipped_total": params.get("skipped_total", ""),
            "sorts": worklist.SORTS,
        }
    return page(request, "review_queue.html", status_code=422 if bad else 200, **ctx)


def _after_take(queue: str, case: service.Case | None, skipped: list[dict[str, Any]], done: int = 0) -> str:
    ids = ",".join(str(s["case_id"]) for s in skipped[:SKIPPED_SHOWN])
    extra = f"skipped={ids}&skipped_total={len(skipped)}" if skipped else ""
    if case is None:
        head = f"/review/queues/{queue}?" + (f"decided={done}&" if done else "") + "empty=1"
        return head + (f"&{extra}" if extra else "")
    params = "&".join(p for p in (f"done={done}" if done else "", extra) if p)
    return f"/review/cases/{case.id}" + (f"?{params}" if params else "")


@router.post("/review/queues/{queue}/next")
def take_next(
    request: Request, queue: str, rt: RT, who: Annotated[Principal, Depends(require_form(CASE_DECIDE))]
) -> Response:
    """Take the next case (in the list's filter and order) and open it, saying what was skipped and why."""
    if queue not in rt.router.queues:
        raise NotFound(f"no queue {queue}", {"field": "queue"})
    filt, _ = _queue_filter(dict(request.query_params))
    with transaction(rt.sessions) as session:
        case, skipped = worklist.take_next(session, rt, who, queue, filt)
        target = _after_take(queue, case, skipped)
    return RedirectResponse(target, status_code=303)


def _done(session: Session, case_id: str) -> dict[str, Any] | None:
    case = session.get(service.Case, int(case_id)) if _count(case_id) else None
    if case is None or case.decision is None:
        return None
    return {"id": case.id, **case.decision}


def case_page_response(
    request: Request,
    rt: Runtime,
    who: Principal,
    case_id: RowId,
    error: str = "",
    field: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The case page; `form` holds the fields of a refused decision, shown as they were entered."""
    with transaction(rt.sessions) as session:
        case = service.get_case(session, case_id)
        view = views.case_view(session, rt, case)
        names = timeline.staff_names(session)
        history = timeline.timeline(session, case, names)
        ctx = base_context(session, rt, who)
        params = request.query_params
        ctx.update(
            {
                "case": view,
                "held": case.assigned_to == who.user_id and case.state != "decided",
                "can_decide": who.has(CASE_DECIDE),
                "can_bulk": who.has(BULK_DECIDE),
                "level": wellbeing.harm_level(rt, case.policy),
                "actions": ACTIONS,
                "error": error,
                "error_field": field,
                "form": form or {},
                "timeline": history,
                "verdicts": timeline.verdicts(session, case, names),
                "escalation": _escalation_reason(case, history),
                "done": _done(session, params.get("done", "")),
                "skipped": _skipped(session, rt, who, params.get("skipped", "")),
                "skipped_total": params.get("skipped_total", ""),
            }
        )
    return page(request, "review_case.html", status_code=status, **ctx)


def _escalation_reason(case: service.Case, history: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Why the case (or the case it came from) was sent up, for the senior who opens it."""
    if case.opened_reason == "reviewers_disagree":
        return {
            "by": "the engine",
            "reason": "the first and the second reviewer disagree",
            "at": iso(case.opened_at),
        }
    for entry in reversed(history):
        if entry["kind"] == "escalated":
            return {"by": entry["by"], "reason": entry["text"], "at": entry["at"]}
    return None


@router.get("/review/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: RowId, rt: RT, who: Viewer) -> HTMLResponse:
    """The case view."""
    return case_page_response(request, rt, who, case_id)


@router.post("/review/cases/{case_id}/take", response_class=HTMLResponse)
def take(
    request: Request, case_id: RowId, rt: RT, who: Annotated[Principal, Depends(require_form(CASE_DECIDE))]
) -> Response:
    """Take the case, then show it."""
    try:
        with transaction(rt.sessions) as session:
            service.take(session, rt, who, case_id)
    except TownsquareError as exc:
        return case_page_response(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
    return RedirectResponse(f"/review/cases/{case_id}", status_code=303)


@router.post("/review/cases/{case_id}/release", response_class=HTMLResponse)
def release(
    request: Request, case_id: RowId, rt: RT, who: Annotated[Principal, Depends(require_form(CASE_DECIDE))]
) -> Response:
    """Give the case back."""
    try:
        with transaction(rt.sessions) as session:
            case = service.release(session, rt, who, case_id)
            queue = case.queue
    except TownsquareError as exc:
        return case_page_response(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
    return RedirectResponse(f"/review/queues/{queue}", status_code=303)


@router.post("/review/cases/{case_id}/decide", response_class=HTMLResponse)
def decide(
    request: Request,
    case_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(CASE_DECIDE))],
    outcome: Annotated[str, Form()] = "",
    policy: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    duration_days: Annotated[str, Form()] = "",
    revision: Annotated[str, Form()] = "0",
) -> Response:
    """Decide the case; a refusal shows the page with the fields as entered and the error by its field.
    Done, it opens the next case of the queue (or the queue when nothing is left)."""
    form = {
        "outcome": outcome,
        "policy": policy,
        "action": action,
        "reason": reason,
        "duration_days": duration_days,
    }

    def refused(message: str, field: str, status: int) -> HTMLResponse:
        return case_page_response(request, rt, who, case_id, message, field, status, form)

    # ASCII digits only: "²".isdigit() is true, but int("²") raises.
    bad = [
        n
        for n, v in (("revision", revision), ("duration_days", duration_days.strip() or "0"))
        if not _count(v)
    ]
    if bad:
        field = bad[0]
        return refused(f"check the {field.replace('_', ' ')}", field, 422)
    if outcome == "violation" and action == "suspend" and not duration_days.strip():
        return refused("a suspension needs its number of days", "duration_days", 422)
    try:
        data = service.DecisionIn(
            outcome=outcome,
            policy=policy or None,
            action=action or None,
            reason=reason,
            duration_days=int(duration_days) if duration_days.strip() else None,
            revision=int(revision.strip()),
        )
    except ValidationError as exc:
        field = error_field(exc, "outcome")
        return refused(f"check the {field.replace('_', ' ')}", field, 422)
    try:
        with transaction(rt.sessions) as session:
            refresh_states(session, rt)
            result = service.decide(session, rt, who, case_id, data)
            queue = service.get_case(session, case_id).queue
    except TownsquareError as exc:
        return refused(exc.message, error_field(exc), exc.status)
    if result.get("approval_id"):
        return case_page_response(request, rt, who, case_id)
    with transaction(rt.sessions) as session:
        nxt, skipped = (
            worklist.take_next(session, rt, who, queue) if queue in rt.router.queues else (None, [])
        )
        target = _after_take(queue, nxt, skipped, done=case_id)
    return RedirectResponse(target, status_code=303)


@router.post("/review/cases/{case_id}/escalate", response_class=HTMLResponse)
def escalate(
    request: Request,
    case_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(QUEUE_VIEW))],
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Send the case to senior review."""
    try:
        with transaction(rt.sessions) as session:
            service.escalate(session, rt, who, case_id, reason)
    except TownsquareError as exc:
        return case_page_response(
            request,
            rt,
            who,
            case_id,
            exc.message,
            "escalate-" + error_field(exc),
            exc.status,
            {"escalate": reason},
        )
    return RedirectResponse(f"/review/cases/{case_id}", status_code=303)


@router.post("/review/cases/{case_id}/notes", response_class=HTMLResponse)
def add_note(
    request: Request,
    case_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(QUEUE_VIEW))],
    body: Annotated[str, Form()] = "",
) -> Response:
    """Add an internal note to the case."""
    try:
        with transaction(rt.sessions) as session:
            timeline.add_note(session, rt, who, case_id, body)
    except TownsquareError as exc:
        return case_page_response(
            request, rt, who, case_id, exc.message, "note-" + error_field(exc), exc.status, {"note": body}
        )
    return RedirectResponse(f"/review/cases/{case_id}#timeline", status_code=303)


@router.get("/review/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, rt: RT, who: Viewer) -> HTMLResponse:
    """Queue health: inflow, backlog, time to decision, automated vs human share, automation precision."""
    with transaction(rt.sessions) as session:
        ctx = {**base_context(session, rt, who), "health": dashboard.health(session, rt)}
    return page(request, "review_dashboard.html", **ctx)
