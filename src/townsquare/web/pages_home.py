"""The home page: for a visitor, what Townsquare is and where to log in; for a signed-in person, their
queues, the approvals waiting for them, their alerts and open council referrals, with links to each."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare import __version__
from townsquare.access import alerts, approvals
from townsquare.access.permissions import SESSION_COOKIE, Principal, authenticate
from townsquare.access.roles import (
    ALERTS_READ,
    APPEALS_DECIDE,
    APPROVALS_VIEW,
    COUNCIL_VOTE,
    QUEUE_VIEW,
)
from townsquare.appeals.models import Appeal, CouncilReferral
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.review import views
from townsquare.runtime import Runtime
from townsquare.web.render import csrf_token, page


def viewer(request: Request) -> Principal | None:
    """The signed-in person behind the session cookie, if any (a page anyone may see asks this)."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return authenticate(request, None)
    except TownsquareError:
        return None


def _pending_for(session: Session, rt: Runtime, who: Principal) -> dict[str, list[dict[str, Any]]]:
    """Pending approvals split into those this person may decide and their own requests."""
    rows = [approvals.approval_view(a) for a in approvals.list_approvals(session, rt, "pending")]
    mine = [a for a in rows if a["requested_by"] == who.actor]
    theirs = [a for a in rows if a["requested_by"] != who.actor and who.has(a["required_permission"])]
    return {"to_decide": theirs, "mine": mine}


def home_context(session: Session, rt: Runtime, who: Principal) -> dict[str, Any]:
    """What the home page shows this person: only what their permissions open."""
    ctx: dict[str, Any] = {"principal": who, "csrf_token": csrf_token(session, who)}
    if who.has(QUEUE_VIEW):
        ctx["queues"] = [q for q in views.queue_summary(session, rt) if q["open"]]
    if who.has(APPROVALS_VIEW):
        ctx["approvals"] = _pending_for(session, rt, who)
    if who.has(ALERTS_READ):
        ctx["alerts"] = [
            alerts.alert_view(a) for a in alerts.list_alerts(session, who, unacknowledged=True, limit=20)
        ]
    if who.has(APPEALS_DECIDE):
        ctx["open_appeals"] = session.scalar(
            select(func.count()).select_from(Appeal).where(Appeal.decided_at.is_(None))
        )
    if who.has(COUNCIL_VOTE):
        ctx["open_referrals"] = session.scalar(
            select(func.count()).select_from(CouncilReferral).where(CouncilReferral.state == "open")
        )
    return ctx


def home(request: Request, rt: Runtime) -> HTMLResponse:
    """The signed-in person's home page, or the public landing page."""
    who = viewer(request)
    if who is None or getattr(request.state, "must_change_password", False):
        return page(request, "landing.html", version=__version__)
    with transaction(rt.sessions) as session:
        ctx = home_context(session, rt, who)
    return page(request, "home.html", version=__version__, **ctx)
