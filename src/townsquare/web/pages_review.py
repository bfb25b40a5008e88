"""The review workbench pages: queues, a queue's cases, the case view with keyboard shortcuts, bulk
decisions, search and the queue-health dashboard. Server-rendered; the only script is a static file
(`/static/workbench.js`), so the Content-Security-Policy holds. Every page uses the same services as
the JSON API.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import BULK_DECIDE, CASE_DECIDE, POSTS_READ, QUEUE_VIEW
from townsquare.api_types import RowId
from townsquare.content.api import RT
from townsquare.content.models import Account, Post
from townsquare.db import transaction
from townsquare.errors import NotFound, TownsquareError
from townsquare.pipeline.refresh import refresh_states
from townsquare.review import bulk, dashboard, service, views
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require(QUEUE_VIEW))]
# Policies whose material can be graphic: shown blurred until the reviewer asks to see it.
BLURRED = frozenset({"violent_extremism", "child_safety", "self_harm", "harassment_threats"})
ACTIONS = ("label", "reduce_reach", "demonetise", "remove", "suspend", "ban")


def _base(session: Session, rt: Runtime, who: Principal) -> dict[str, Any]:
    return {
        "principal": who,
        "csrf_token": csrf_token(session, who),
        "areas": [(a, area_title(a)) for a in rt.policies.areas()],
    }


@router.get("/review", response_class=HTMLResponse)
def queues_page(request: Request, rt: RT, who: Viewer) -> HTMLResponse:
    """Every queue with its counts and oldest case."""
    with transaction(rt.sessions) as session:
        ctx = {**_base(session, rt, who), "queues": views.queue_summary(session, rt)}
    return page(request, "review_queues.html", **ctx)


@router.get("/review/queues/{queue}", response_class=HTMLResponse)
def queue_page(request: Request, queue: str, rt: RT, who: Viewer, dup_group: str = "") -> HTMLResponse:
    """A queue's open cases, highest priority first."""
    if queue not in rt.router.queues:
        raise NotFound(f"no queue {queue}", {"field": "queue"})
    with transaction(rt.sessions) as session:
        cases = views.list_cases(session, rt, queue=queue, dup_group=dup_group or None, limit=200)
        ctx = {
            **_base(session, rt, who),
            "queue": queue,
            "title": rt.router.queues[queue].title,
            "cases": cases,
            "can_decide": who.has(CASE_DECIDE),
        }
    return page(request, "review_queue.html", **ctx)


@router.post("/review/queues/{queue}/next")
def take_next(queue: str, rt: RT, who: Annotated[Principal, Depends(require_form(CASE_DECIDE))]) -> Response:
    """Take the next case and open it."""
    if queue not in rt.router.queues:
        raise NotFound(f"no queue {queue}", {"field": "queue"})
    with transaction(rt.sessions) as session:
        case = service.next_case(session, rt, who, queue)
        target = f"/review/cases/{case.id}" if case else f"/review/queues/{queue}?empty=1"
    return RedirectResponse(target, status_code=303)


def _case_page(
    request: Request,
    rt: Runtime,
    who: Principal,
    case_id: RowId,
    error: str = "",
    field: str = "",
    status: int = 200,
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        case = service.get_case(session, case_id)
        view = views.case_view(session, rt, case)
        ctx = {
            **_base(session, rt, who),
            "case": view,
            "held": case.assigned_to == who.user_id and case.state != "decided",
            "can_decide": who.has(CASE_DECIDE),
            "can_bulk": who.has(BULK_DECIDE),
            "blurred": case.policy in BLURRED,
            "actions": ACTIONS,
            "error": error,
            "error_field": field,
        }
    return page(request, "review_case.html", status_code=status, **ctx)


@router.get("/review/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: RowId, rt: RT, who: Viewer) -> HTMLResponse:
    """The case view."""
    return _case_page(request, rt, who, case_id)


@router.post("/review/cases/{case_id}/take", response_class=HTMLResponse)
def take(
    request: Request, case_id: RowId, rt: RT, who: Annotated[Principal, Depends(require_form(CASE_DECIDE))]
) -> Response:
    """Take the case, then show it."""
    try:
        with transaction(rt.sessions) as session:
            service.take(session, rt, who, case_id)
    except TownsquareError as exc:
        return _case_page(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
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
        return _case_page(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
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
    """Decide the case; errors are shown on the case page next to the field they concern."""
    # ASCII digits only: "²".isdigit() is true, but int("²") raises.
    bad = [n for n, v in (("revision", revision), ("duration_days", duration_days or "0")) if not _count(v)]
    if bad:
        return _case_page(request, rt, who, case_id, f"check the {bad[0].replace('_', ' ')}", bad[0], 422)
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
        return _case_page(request, rt, who, case_id, f"check the {field.replace('_', ' ')}", field, 422)
    try:
        with transaction(rt.sessions) as session:
            refresh_states(session, rt)
            result = service.decide(session, rt, who, case_id, data)
            queue = service.get_case(session, case_id).queue
    except TownsquareError as exc:
        return _case_page(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
    if result.get("approval_id"):
        return _case_page(request, rt, who, case_id, "", "", 200)
    return RedirectResponse(f"/review/queues/{queue}?decided={case_id}", status_code=303)


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
        return _case_page(request, rt, who, case_id, exc.message, error_field(exc), exc.status)
    return RedirectResponse(f"/review/cases/{case_id}", status_code=303)


def _count(value: str) -> bool:
    """A whole number as a form sends it: 1 to 9 ASCII digits (INTEGER columns hold it)."""
    return re.fullmatch(r"[0-9]{1,9}", value.strip()) is not None


def _filter(dup_group: str, queue: str, policy: str, contains: str) -> bulk.CaseFilter:
    return bulk.CaseFilter(
        dup_group=dup_group or None, queue=queue or None, policy=policy or None, contains=contains or None
    )


@router.get("/review/bulk", response_class=HTMLResponse)
def bulk_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(BULK_DECIDE))],
    dup_group: str = "",
    queue: str = "",
    policy: str = "",
    contains: str = "",
) -> HTMLResponse:
    """A bulk decision: the filter, a preview of the cases it covers, the decision form."""
    raw = {"dup_group": dup_group, "queue": queue, "policy": policy, "contains": contains}
    with transaction(rt.sessions) as session:
        ctx: dict[str, Any] = {
            **_base(session, rt, who),
            "raw": raw,
            "preview": None,
            "error": "",
            "result": None,
        }
        if any(raw.values()):
            try:
                ctx["preview"] = bulk.preview(session, rt, who, _filter(**raw))
            except (ValidationError, TownsquareError) as exc:
                ctx["error"] = str(getattr(exc, "message", "check the filter"))
    return page(request, "review_bulk.html", status_code=422 if ctx["error"] else 200, **ctx)


@router.post("/review/bulk", response_class=HTMLResponse)
def bulk_submit(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(BULK_DECIDE))],
    dup_group: Annotated[str, Form()] = "",
    queue: Annotated[str, Form()] = "",
    policy_filter: Annotated[str, Form()] = "",
    contains: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    policy: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Apply a bulk decision (or open its approval) and show what happened."""
    raw = {"dup_group": dup_group, "queue": queue, "policy": policy_filter, "contains": contains}
    error, result, status = "", None, 200
    try:
        data = bulk.BulkCaseDecision(
            filter=_filter(**raw),
            outcome=outcome,
            policy=policy or None,
            action=action or None,
            reason=reason,
        )
        with transaction(rt.sessions) as session:
            refresh_states(session, rt)
            out = bulk.decide(session, rt, who, data)
            result = {"approval_id": out.id, "summary": out.summary} if isinstance(out, Approval) else out
    except ValidationError as exc:
        error, status = f"check the {error_field(exc, 'filter')}", 422
    except TownsquareError as exc:
        error, status = exc.message, exc.status
    with transaction(rt.sessions) as session:
        ctx = {**_base(session, rt, who), "raw": raw, "preview": None, "error": error, "result": result}
    return page(request, "review_bulk.html", status_code=status, **ctx)


@router.get("/review/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(POSTS_READ))],
    q: str = "",
    kind: str = "posts",
) -> HTMLResponse:
    """Find posts by their text or platform id, and accounts by handle, name or platform id."""
    q = q.strip()[:200]
    with transaction(rt.sessions) as session:
        posts: list[Post] = []
        accounts: list[Account] = []
        if len(q) >= 2 and kind == "accounts":
            accounts = list(
                session.scalars(
                    select(Account)
                    .where(
                        or_(
                            Account.handle.contains(q, autoescape=True),
                            Account.display_name.contains(q, autoescape=True),
                            Account.platform_id == q,
                        )
                    )
                    .limit(50)
                )
            )
        elif len(q) >= 2:
            posts = list(
                session.scalars(
                    select(Post)
                    .where(or_(Post.text.contains(q, autoescape=True), Post.platform_id == q))
                    .order_by(Post.id.desc())
                    .limit(50)
                )
            )
        ctx = {
            **_base(session, rt, who),
            "q": q,
            "kind": kind,
            "posts": [
                {"platform_id": p.platform_id, "text": p.text, "status": p.status, "author": p.author.handle}
                for p in posts
            ],
            "accounts": [
                {
                    "platform_id": a.platform_id,
                    "handle": a.handle,
                    "display_name": a.display_name,
                    "standing": a.standing,
                    "followers": a.follower_count,
                }
                for a in accounts
            ],
        }
    return page(request, "review_search.html", **ctx)


@router.get("/review/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, rt: RT, who: Viewer) -> HTMLResponse:
    """Queue health: inflow, backlog, time to decision, automated vs human share, automation precision."""
    with transaction(rt.sessions) as session:
        ctx = {**_base(session, rt, who), "health": dashboard.health(session, rt)}
    return page(request, "review_dashboard.html", **ctx)
