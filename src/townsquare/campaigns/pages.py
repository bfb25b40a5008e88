"""Workbench pages: detected campaigns; a campaign's accounts, posts, timeline, evidence; deciding it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import BULK_DECIDE, QUEUE_VIEW
from townsquare.api_types import RowId
from townsquare.campaigns import service, views
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.runtime import Runtime
from townsquare.web.render import csrf_token, page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require(QUEUE_VIEW))]
ACTIONS = ("label", "reduce_reach", "demonetise", "remove")


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, rt: RT, who: Viewer) -> HTMLResponse:
    """Every detected campaign, newest first."""
    with transaction(rt.sessions) as session:
        service.sweep(session, rt)
        for c in service.pending(session):
            service.rejected(session, c)
        ctx: dict[str, Any] = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "campaigns": views.listing(session),
        }
    return page(request, "campaigns.html", **ctx)


def _campaign(
    request: Request, rt: Runtime, who: Principal, campaign_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        camp = service.get(session, campaign_id)
        service.rejected(session, camp)
        ctx = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "c": views.detail(session, camp),
            "can_decide": who.has(BULK_DECIDE),
            "areas": rt.policies.areas(),
            "actions": ACTIONS,
            **extra,
        }
    return page(request, "campaign.html", status_code=status, **ctx)


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request, campaign_id: RowId, rt: RT, who: Viewer, requested: int = 0
) -> HTMLResponse:
    """One campaign."""
    return _campaign(request, rt, who, campaign_id, requested=requested)


@router.post("/campaigns/{campaign_id}/decide", response_class=HTMLResponse)
def decide_page(
    request: Request,
    campaign_id: RowId,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(BULK_DECIDE))],
    outcome: Annotated[str, Form()] = "violation",
    policy: Annotated[str, Form()] = "spam",
    action: Annotated[str, Form()] = "remove",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Ask for the campaign's decision; it waits for a second person."""
    try:
        data = service.CampaignDecision.model_validate(
            {
                "outcome": outcome,
                "reason": reason,
                **({"policy": policy, "action": action} if outcome == "violation" else {}),
            }
        )
        with transaction(rt.sessions) as session:
            approval_id = service.decide(session, rt, who, campaign_id, data).id
    except (ValidationError, TownsquareError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc.message
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return _campaign(request, rt, who, campaign_id, status, error=str(message))
    return RedirectResponse(f"/campaigns/{campaign_id}?requested={approval_id}", status_code=303)
