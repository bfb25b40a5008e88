"""Admin screens for access control: freezes, break-glass grants and the two-person approvals queue.

Each page sits behind its API route's permission and calls the same services (`access.freeze`,
`access.breakglass`, `access.approvals` through the API's own decide step, which records refusals
for lack of independence and failed executions). No one approves their own request: the page offers the
requester only "withdraw", and the service refuses it regardless.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from townsquare.access import approvals, breakglass, freeze
from townsquare.access.api_approvals import Rejection
from townsquare.access.api_approvals import _decide as decide_approval
from townsquare.access.api_freeze import BreakGlass, FreezeChange, FreezeCreate
from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import APPROVALS_VIEW, BREAKGLASS_GRANT, FREEZE_GLOBAL, FREEZE_USER, ROLES
from townsquare.api_types import RowId
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.eventlog import events
from townsquare.runtime import Runtime
from townsquare.web.pages_admin import _message, _status
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=2_000)]
Small = Annotated[str, Form(max_length=64)]
STATUSES = ("pending", "approved", "rejected", "cancelled", "expired", "failed", "all")


def _done(request: Request) -> str:
    """A confirmation from a known code after a redirect (never text taken from the URL)."""
    q = request.query_params
    n = q.get("n", "") if q.get("n", "").isdigit() else "?"
    return {
        "frozen": f"Freeze #{n} is in force.",
        "requested": f"Approval #{n} waits for a second person.",
        "lifted": f"Freeze #{n} lifted.",
        "renewed": f"Freeze #{n} renewed.",
        "granted": f"Break-glass grant #{n} is in force; the auditors were alerted.",
        "approved": f"Approval #{n} approved and carried out.",
        "rejected": f"Approval #{n} rejected.",
        "cancelled": f"You withdrew your request #{n}.",
    }.get(q.get("done", ""), "")


def _base(session: Any, request: Request, who: Principal, ctx: dict[str, Any]) -> dict[str, Any]:
    ctx.setdefault("form", {})
    ctx.setdefault("done", _done(request))
    return {"principal": who, "csrf_token": csrf_token(session, who), **ctx}


# Freezes ---------------------------------------------------------------------------------------


def _freezes_page(
    request: Request, rt: Runtime, who: Principal, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        rows = [freeze.freeze_view(rt, f) for f in freeze.list_freezes(session, rt)[:200]]
        ctx = _base(session, request, who, ctx)
    return page(
        request, "admin_freezes.html", status, freezes=rows, can_global=who.has(FREEZE_GLOBAL),
        roles=sorted(ROLES), max_hours=rt.settings.freeze_max_hours, **ctx,
    )  # fmt: skip


@router.get("/admin/freezes", response_class=HTMLResponse)
def freezes_page(
    request: Request, rt: RT, who: Annotated[Principal, Depends(require(FREEZE_USER))]
) -> HTMLResponse:
    """Freezes, newest first, and the form to freeze a user, a role or everyone."""
    return _freezes_page(request, rt, who)


def _hours(value: str) -> float | None:
    return float(value) if value.strip() else None


@router.post("/admin/freezes", response_class=HTMLResponse)
def create_freeze(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(FREEZE_USER))],
    scope: Small = "",
    target: Small = "",
    reason: Text = "",
    hours: Annotated[str, Form(max_length=16)] = "",
    read_only: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Freeze a user at once; a role or everyone waits for a second holder of freeze:global."""
    form = {"scope": scope, "target": target, "reason": reason, "hours": hours, "read_only": read_only}
    try:
        data = FreezeCreate(
            scope=scope,
            target=target.strip(),
            reason=reason.strip(),
            read_only=read_only == "yes" if read_only else None,
            hours=_hours(hours),
        )
        with transaction(rt.sessions) as session:
            if data.scope == "user":
                row = freeze.freeze_user(
                    session, rt, who, data.target, data.reason, read_only=data.read_only, hours=data.hours
                )
                done = f"frozen&n={row.id}"
            else:
                asked = freeze.request_freeze(
                    session, rt, who, data.scope, data.target, data.reason,
                    read_only=data.read_only, hours=data.hours,
                )  # fmt: skip
                done = f"requested&n={asked.id}"
    except (ValidationError, TownsquareError, ValueError) as exc:
        field = "hours" if type(exc) is ValueError else error_field(exc, "scope")
        message = "hours: enter a number" if type(exc) is ValueError else _message(exc, "scope")
        return _freezes_page(request, rt, who, status=_status(exc), form=form, error=message, field=field)
    return RedirectResponse(f"/admin/freezes?done={done}", status_code=303)


def _change(
    request: Request, rt: Runtime, who: Principal, freeze_id: int, reason: str, hours: str, lift: bool
) -> Response:
    form = {"freeze_id": freeze_id, "change_reason": reason, "change_hours": hours}
    try:
        data = FreezeChange(reason=reason.strip(), hours=_hours(hours))
        with transaction(rt.sessions) as session:
            if lift:
                freeze.lift(session, rt, who, freeze_id, data.reason)
                done = f"lifted&n={freeze_id}"
            else:
                out = freeze.renew(session, rt, who, freeze_id, data.reason, data.hours)
                done = f"requested&n={out.id}" if isinstance(out, Approval) else f"renewed&n={freeze_id}"
    except (ValidationError, TownsquareError, ValueError) as exc:
        message = "hours: enter a number" if type(exc) is ValueError else _message(exc, "reason")
        return _freezes_page(request, rt, who, status=_status(exc), form=form, error=message, field="change")
    return RedirectResponse(f"/admin/freezes?done={done}", status_code=303)


@router.post("/admin/freezes/{freeze_id}/lift", response_class=HTMLResponse)
def lift_freeze(
    request: Request,
    freeze_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(FREEZE_USER))],
    reason: Text = "",
) -> Response:
    """Lift a freeze at once."""
    return _change(request, rt, who, freeze_id, reason, "", lift=True)


@router.post("/admin/freezes/{freeze_id}/renew", response_class=HTMLResponse)
def renew_freeze(
    request: Request,
    freeze_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(FREEZE_USER))],
    reason: Text = "",
    hours: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Extend a freeze (a role or global one with a second admin)."""
    return _change(request, rt, who, freeze_id, reason, hours, lift=False)


# Break-glass -----------------------------------------------------------------------------------


def _breakglass_page(
    request: Request, rt: Runtime, who: Principal, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        now = rt.now()
        grants = [
            {
                "id": g.id,
                "username": username,
                "role": g.role,
                "granted_by": g.granted_by,
                "granted_at": events.iso(g.granted_at),
                "expires_at": events.iso(g.expires_at) if g.expires_at else None,
                "active": g.revoked_at is None and (g.expires_at is None or g.expires_at > now),
                "reason": g.reason,
            }
            for g, username in breakglass.recent_grants(session)
        ]
        ctx = _base(session, request, who, ctx)
    return page(
        request, "admin_breakglass.html", status, grants=grants, roles=breakglass.grantable_roles(),
        max_minutes=rt.settings.break_glass_max_minutes, **ctx,
    )  # fmt: skip


@router.get("/admin/breakglass", response_class=HTMLResponse)
def breakglass_page(
    request: Request, rt: RT, who: Annotated[Principal, Depends(require(BREAKGLASS_GRANT))]
) -> HTMLResponse:
    """Recent break-glass grants and the form for a new one."""
    return _breakglass_page(request, rt, who)


@router.post("/admin/breakglass", response_class=HTMLResponse)
def grant_breakglass(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(BREAKGLASS_GRANT))],
    username: Small = "",
    role: Small = "",
    minutes: Annotated[str, Form(max_length=8)] = "",
    reason: Text = "",
) -> Response:
    """Give a named person a role for a few minutes, with a reason; the auditors are alerted."""
    form = {"username": username, "role": role, "minutes": minutes, "reason": reason}
    try:
        data = BreakGlass(
            username=username.strip(), role=role, minutes=minutes.strip() or 0, reason=reason.strip()
        )
        with transaction(rt.sessions) as session:
            grant = breakglass.break_glass(
                session, rt, who, data.username, data.role, data.minutes, data.reason
            )
            done = f"granted&n={grant.id}"
    except (ValidationError, TownsquareError) as exc:
        return _breakglass_page(
            request, rt, who, status=_status(exc), form=form,
            error=_message(exc, "username"), field=error_field(exc, "username"),
        )  # fmt: skip
    return RedirectResponse(f"/admin/breakglass?done={done}", status_code=303)


# Approvals -------------------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(APPROVALS_VIEW))],
    status: str = "pending",
) -> HTMLResponse:
    """The approvals in a state (the pending queue by default), oldest first."""
    status = status if status in STATUSES else "pending"
    with transaction(rt.sessions) as session:
        rows = [
            approvals.approval_view(a)
            for a in approvals.list_approvals(session, rt, None if status == "all" else status)
        ]
        ctx = _base(session, request, who, {})
    return page(request, "approvals.html", rows=rows, status=status, statuses=STATUSES, **ctx)


def _approval_page(
    request: Request, rt: Runtime, who: Principal, approval_id: int, *, status: int = 200, **ctx: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        approvals.expire_due(session, rt)
        view = approvals.approval_view(approvals.get(session, approval_id))
        ctx = _base(session, request, who, ctx)
    own = view["requested_by"] == who.actor
    return page(
        request, "approval.html", status, a=view, own=own,
        can_decide=view["status"] == "pending" and (own or who.has(view["required_permission"])),
        **ctx,
    )  # fmt: skip


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
def approval_page(
    request: Request,
    approval_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require(APPROVALS_VIEW))],
) -> HTMLResponse:
    """One approval: what would change, who asked and why, and the approve or reject form."""
    return _approval_page(request, rt, who, approval_id)


def _decision(
    request: Request, rt: Runtime, who: Principal, approval_id: int, approve: bool, reason: str
) -> Response:
    form = {"reason": reason}
    try:
        if not approve:
            Rejection(reason=reason.strip())
        view = decide_approval(rt, who, approval_id, approve, reason.strip())
    except (ValidationError, TownsquareError) as exc:
        rejected = isinstance(exc, ValidationError)
        message = "a rejection needs a reason" if rejected else _message(exc, "reason")
        return _approval_page(
            request, rt, who, approval_id, status=_status(exc), form=form, error=message, field="reason"
        )
    return RedirectResponse(
        f"/approvals/{approval_id}?done={view['status']}&n={approval_id}", status_code=303
    )


@router.post("/approvals/{approval_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    approval_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(APPROVALS_VIEW))],
    reason: Text = "",
) -> Response:
    """Approve and carry out the change (the approval names the permission its approver needs)."""
    return _decision(request, rt, who, approval_id, True, reason)


@router.post("/approvals/{approval_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    approval_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(APPROVALS_VIEW))],
    reason: Text = "",
) -> Response:
    """Reject the change, or, as its requester, withdraw it."""
    return _decision(request, rt, who, approval_id, False, reason)
