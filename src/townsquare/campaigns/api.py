"""JSON API: detected campaigns and their decision (always by two people)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import BULK_DECIDE, QUEUE_VIEW
from townsquare.api_types import RowId
from townsquare.campaigns import service, views
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction

router = APIRouter(prefix="/v1", tags=["campaigns"])
Viewer = Annotated[Principal, Depends(require(QUEUE_VIEW))]


@router.get("/campaigns", responses=ERRORS, summary="Detected coordinated campaigns")
def list_campaigns(
    rt: RT, _: Viewer, state: Annotated[Literal["open", "pending", "decided"] | None, Query()] = None
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        service.sweep(session, rt)
        for c in service.pending(session):
            service.rejected(session, c)
        return {"campaigns": views.listing(session, state)}


@router.get("/campaigns/{campaign_id}", responses=ERRORS, summary="A campaign: accounts, posts, timeline")
def get_campaign(campaign_id: RowId, rt: RT, _: Viewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        camp = service.get(session, campaign_id)
        service.rejected(session, camp)
        return views.detail(session, camp)


@router.post(
    "/campaigns/{campaign_id}/decide",
    status_code=202,
    responses=ERRORS,
    summary="Decide a whole campaign (a second person approves)",
)
def decide_campaign(
    campaign_id: RowId,
    data: service.CampaignDecision,
    rt: RT,
    who: Annotated[Principal, Depends(require(BULK_DECIDE))],
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        approval = service.decide(session, rt, who, campaign_id, data)
        return {"campaign": campaign_id, "approval_id": approval.id, "status": "pending_approval"}
