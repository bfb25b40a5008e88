"""Workbench pages for appeals (reviewers) and the council (members): lists, a detail view, forms.

Server-rendered, no script; every form carries the session's CSRF token; errors are shown next to the
field. The pages call the same services as the JSON API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import APPEALS_DECIDE, COUNCIL_VOTE
from townsquare.api_types import RowId
from townsquare.appeals import service as appeals
from townsquare.appeals.models import Appeal, CouncilReferral
from townsquare.content.api import RT
from townsquare.content.models import Post, Report
from townsquare.council import service as council
from townsquare.db import transaction
from townsquare.enforcement.models import Action
from townsquare.errors import TownsquareError
from townsquare.review import wellbeing
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Reviewer = Annotated[Principal, Depends(require(APPEALS_DECIDE))]
Member = Annotated[Principal, Depends(require(COUNCIL_VOTE))]


@router.get("/review/appeals", response_class=HTMLResponse)
def appeals_page(request: Request, rt: RT, who: Reviewer) -> HTMLResponse:
    """Open appeals, the most overdue first."""
    with transaction(rt.sessions) as session:
        rows = session.scalars(
            select(Appeal).where(Appeal.state != "decided").order_by(Appeal.sla_due_at).limit(300)
        )
        ctx: dict[str, Any] = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "appeals": [appeals.view(a, rt.now()) for a in rows],
            **wellbeing.context(session, rt, who),
        }
    return page(request, "review_appeals.html", **ctx)


def _subject(session: Session, appeal: Appeal) -> dict[str, Any]:
    if appeal.action_id is not None:
        action = session.get(Action, appeal.action_id)
        assert action is not None
        return {
            "decision": f"{action.action_type} under {area_title(action.policy)} by {action.actor}",
            "status": action.status,
            "reason": action.reason,
            "text": action.post.text if action.post else None,
        }
    report = session.get(Report, appeal.report_id)
    assert report is not None
    post = session.get(Post, report.subject_id) if report.subject_type == "post" else None
    return {
        "decision": "the content reported was left up",
        "status": "",
        "reason": report.reason,
        "text": post.text if post else None,
    }


def _appeal_page(
    request: Request,
    rt: Runtime,
    who: Principal,
    appeal_id: RowId,
    error: str = "",
    field: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        appeal = appeals.get(session, appeal_id)
        ctx = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "appeal": appeals.view(appeal, rt.now()),
            "subject": _subject(session, appeal),
            "held": appeal.reviewer_id == who.user_id and appeal.state != "decided",
            "excluded": who.user_id in appeal.excluded_reviewers,
            "error": error,
            "error_field": field,
            "areas": [(a, area_title(a)) for a in rt.policies.areas()],
            "form": form or {},
            **wellbeing.context(session, rt, who),
        }
    return page(request, "review_appeal.html", status_code=status, **ctx)


@router.get("/review/appeals/{appeal_id}", response_class=HTMLResponse)
def appeal_page(request: Request, appeal_id: RowId, rt: RT, who: Reviewer) -> HTMLResponse:
    """One appeal: the decision appealed, the statement, and the forms."""
    return _appeal_page(request, rt, who, appeal_id)


@router.post("/review/appeals/{appeal_id}/take", response_class=HTMLResponse)
def take_appeal(
    request: Request,
    appeal_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(APPEALS_DECIDE))],
) -> Response:
    """Take the appeal."""
    try:
        with transaction(rt.sessions) as session:
            appeals.take(session, rt, who, appeal_id)
    except TownsquareError as exc:
        field = error_field(exc, "appeal_id")
        return _appeal_page(request, rt, who, appeal_id, exc.message, field, exc.status)
    return RedirectResponse(f"/review/appeals/{appeal_id}", status_code=303)


@router.post("/review/appeals/{appeal_id}/decide", response_class=HTMLResponse)
def decide_appeal(
    request: Request,
    appeal_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(APPEALS_DECIDE))],
    outcome: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    policy: Annotated[str, Form()] = "",
) -> Response:
    """Decide the appeal held; a refusal shows the form with every field as entered."""
    form = {"outcome": outcome, "reason": reason, "action": action, "policy": policy}
    try:
        data = appeals.AppealDecision(
            outcome=outcome,
            reason=reason,
            action=action or None,
            policy=policy or None,
        )
        with transaction(rt.sessions) as session:
            appeals.decide(session, rt, who, appeal_id, data)
    except (ValidationError, TownsquareError) as exc:
        message = getattr(exc, "message", "") or f"check the {error_field(exc, 'outcome')}"
        return _appeal_page(
            request,
            rt,
            who,
            appeal_id,
            message,
            error_field(exc, "outcome"),
            getattr(exc, "status", 422),
            form,
        )
    return RedirectResponse(f"/review/appeals/{appeal_id}", status_code=303)


@router.get("/council", response_class=HTMLResponse)
def council_page(request: Request, rt: RT, who: Member) -> HTMLResponse:
    """Open and recently closed referrals."""
    with transaction(rt.sessions) as session:
        rows = session.scalars(
            select(CouncilReferral)
            .order_by(CouncilReferral.state.desc(), CouncilReferral.id.desc())
            .limit(100)
        )
        ctx: dict[str, Any] = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "referrals": [council.referral_view(session, r, reveal_votes=False) for r in rows],
        }
    return page(request, "council.html", **ctx)


def _referral_page(
    request: Request,
    rt: Runtime,
    who: Principal,
    ref_id: RowId,
    error: str = "",
    field: str = "",
    status: int = 200,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        ref = council.referral(session, ref_id)
        ctx = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "ref": council.referral_view(session, ref, True),
            "tags": council.REASON_TAGS,
            "error": error,
            "error_field": field,
            "form": form or {},
            **wellbeing.context(session, rt, who),
        }
    return page(request, "council_referral.html", status_code=status, **ctx)


@router.get("/council/referrals/{referral_id}", response_class=HTMLResponse)
def referral_page(request: Request, referral_id: RowId, rt: RT, who: Member) -> HTMLResponse:
    """A referral's redacted packet and the vote form."""
    return _referral_page(request, rt, who, referral_id)


@router.post("/council/referrals/{referral_id}/vote", response_class=HTMLResponse)
def vote(
    request: Request,
    referral_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(COUNCIL_VOTE))],
    vote: Annotated[str, Form()] = "",
    rationale: Annotated[str, Form()] = "",
    tags: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Cast a vote; a refusal shows the form with every field as entered."""
    form = {"vote": vote, "rationale": rationale, "tags": tags or []}
    try:
        data = council.VoteIn(vote=vote, rationale=rationale, tags=tags or [])
        with transaction(rt.sessions) as session:
            council.cast(session, rt, who, referral_id, data)
    except (ValidationError, TownsquareError) as exc:
        message = getattr(exc, "message", "") or f"check the {error_field(exc, 'vote')}"
        return _referral_page(
            request,
            rt,
            who,
            referral_id,
            message,
            error_field(exc, "vote"),
            getattr(exc, "status", 422),
            form,
        )
    return RedirectResponse(f"/council/referrals/{referral_id}?voted=1", status_code=303)
