"""Public pages (no staff login): the appeal page reached by the signed link in a notice, the published
reinstatement criteria, the public reinstatement decision log (HTML and a JSON feed) and the council's
members. None of them shows personal data beyond what the link's own holder already knows.
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.permissions import public
from townsquare.appeals import links, reinstatement
from townsquare.appeals import service as appeals
from townsquare.content.api import ERRORS, RT
from townsquare.content.models import Post, Report
from townsquare.council import service as council
from townsquare.db import idempotent, transaction
from townsquare.enforcement.models import Action
from townsquare.errors import NotFound, TownsquareError
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title
from townsquare.web.render import page

router = APIRouter()
CSRF_COOKIE = "ts_appeal_csrf"
PER_PAGE = 50  # rows of the public reinstatement log per page
Public = Annotated[None, Depends(public)]


def _decision(rt: Runtime, claim: dict[str, Any]) -> dict[str, Any]:
    """What the link is about, as its holder may see it."""
    with transaction(rt.sessions) as session:
        if claim["kind"] == "action":
            action = session.scalar(select(Action).where(Action.puid == claim["ref"]))
            if action is None:
                raise NotFound("this decision no longer exists", {"field": "token"})
            return {
                "what": f"{action.action_type.replace('_', ' ')} of your {action.target_type}",
                "policy": area_title(action.policy),
                "on": action.created_at.date().isoformat(),
                "reason": action.reason,
                "excerpt": action.post.text[:280] if action.post else None,
            }
        report = session.get(Report, int(claim["ref"]))
        if report is None:
            raise NotFound("this report no longer exists", {"field": "token"})
        post = session.get(Post, report.subject_id) if report.subject_type == "post" else None
        return {
            "what": "our decision to leave up the content you reported",
            "policy": area_title(report.reason) if report.reason != "other" else "other",
            "on": report.created_at.date().isoformat(),
            "reason": "",
            "excerpt": post.text[:280] if post else None,
        }


def _window(rt: Runtime, claim: dict[str, Any]) -> dict[str, Any]:
    """How long the link's holder may still appeal: whole days left, and the last day."""
    seconds = int(claim.get("exp", 0)) - rt.now().timestamp()
    until = datetime.fromtimestamp(int(claim.get("exp", 0)), UTC).date().isoformat()
    return {"days_left": max(math.ceil(seconds / 86_400), 0), "until": until}


def _already(rt: Runtime, claim: dict[str, Any]) -> dict[str, Any] | None:
    """The appeal this link's holder already filed against this decision, as they may see it."""
    with transaction(rt.sessions) as session:
        found = appeals.appeal_for(session, claim["kind"], str(claim["ref"]), claim["account"])
        if found is None:
            return None
        return {
            "public_id": found.public_id,
            "filed_on": found.created_at.date().isoformat(),
            "state": found.state.replace("_", " "),
            "outcome": (found.outcome or "").replace("_", " "),
            "sla_due_at": found.sla_due_at.date().isoformat() if found.sla_due_at else "",
        }


def _appeal_page(
    request: Request, rt: Runtime, token: str, status: int = 200, *, claim: dict[str, Any], **ctx: Any
) -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    resp = page(request, "appeal.html", status, token=token, appeal_csrf=csrf, **_window(rt, claim), **ctx)
    resp.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=3600,
        path="/appeal",
        secure=rt.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return resp


@router.get("/appeal/{token}", response_class=HTMLResponse, include_in_schema=False)
def appeal_form(request: Request, token: str, rt: RT, _: Public) -> HTMLResponse:
    """The appeal form for the decision the link names."""
    try:
        claim = links.verify(rt.link_key, token, rt.now(), "appeal")
        decision = _decision(rt, claim)
    except TownsquareError as exc:
        return page(request, "appeal.html", exc.status, link_error=exc.message)
    already = _already(rt, claim)
    if already is not None:
        return page(request, "appeal.html", decision=decision, already=already)
    return _appeal_page(request, rt, token, claim=claim, decision=decision)


@router.post("/appeal/{token}", response_class=HTMLResponse, include_in_schema=False)
def appeal_submit(
    request: Request,
    token: str,
    rt: RT,
    _: Public,
    statement: Annotated[str, Form(max_length=5000)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    """File the appeal; errors are shown on the form."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    try:
        claim = links.verify(rt.link_key, token, rt.now(), "appeal")
        decision = _decision(rt, claim)
    except TownsquareError as exc:
        return page(request, "appeal.html", exc.status, link_error=exc.message)
    already = _already(rt, claim)
    if already is not None:
        return page(request, "appeal.html", 409, decision=decision, already=already)
    if not (cookie and csrf_token and hmac.compare_digest(cookie.encode(), csrf_token.encode())):
        return _appeal_page(
            request, rt, token, 403, claim=claim, decision=decision, statement=statement,
            error="the form expired; please send it again",
        )  # fmt: skip
    try:
        data = appeals.AppealIn(
            kind=claim["kind"],
            action=claim["ref"] if claim["kind"] == "action" else None,
            report=int(claim["ref"]) if claim["kind"] == "report" else None,
            account=claim["account"],
            statement=statement.strip(),
        )

        def work(session: Session) -> dict[str, str]:
            appeal = appeals.file_appeal(session, rt, rt.appeal_rules, data, "link")
            return {"public_id": appeal.public_id, "sla_due_at": appeal.sla_due_at.date().isoformat()}

        done = idempotent(rt.sessions, work)  # a double submit is a 409 on the form, not a 500
    except ValidationError:
        return _appeal_page(
            request, rt, token, 422, claim=claim, decision=decision, statement=statement,
            error="tell us why you disagree", field="statement",
        )  # fmt: skip
    except TownsquareError as exc:
        return _appeal_page(
            request, rt, token, exc.status, claim=claim, decision=decision, statement=statement,
            error=exc.message,
        )  # fmt: skip
    return page(request, "appeal.html", 201, decision=decision, done=done)


@router.get("/public/reinstatements", response_class=HTMLResponse, include_in_schema=False)
def reinstatement_log(
    request: Request,
    rt: RT,
    _: Public,
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """Every reinstatement application and its outcome, without personal data, 50 to a page."""
    with transaction(rt.sessions) as session:
        entries, total = reinstatement.public_page(session, page_no, PER_PAGE)
    pages = max(math.ceil(total / PER_PAGE), 1)
    return page(
        request, "public_reinstatements.html", entries=entries, rules=rt.appeal_rules.public(),
        page_no=page_no, pages=pages, total=total, per_page=PER_PAGE,
    )  # fmt: skip


@router.get(
    "/v1/public/reinstatements", responses=ERRORS, tags=["public"], summary="Reinstatement decision feed"
)
def reinstatement_feed(rt: RT, _: Public) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return {"applications": reinstatement.public_log(session), "criteria": rt.appeal_rules.public()}


@router.get("/v1/public/council", responses=ERRORS, tags=["public"], summary="The council's members")
def council_members(rt: RT, _: Public) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return council.members_view(session)
