"""The advisory council over HTTP: members, referrals with redacted packets, votes, recommendations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import COUNCIL_MANAGE, COUNCIL_VOTE, USERS_MANAGE
from townsquare.api_types import RowId
from townsquare.appeals.models import CouncilReferral
from townsquare.content.api import ERRORS, RT
from townsquare.council import service
from townsquare.db import transaction

router = APIRouter(prefix="/v1/council", tags=["council"])
Member = Annotated[Principal, Depends(require(COUNCIL_VOTE))]
Manager = Annotated[Principal, Depends(require(COUNCIL_MANAGE))]


@router.get("/members", responses=ERRORS, summary="Seated members and their affiliations")
def members(rt: RT, _: Member) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return service.members_view(session)


@router.post("/members", status_code=201, responses=ERRORS, summary="Seat a member (holding council_member)")
def seat(
    data: service.MemberIn, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        m = service.seat(session, rt, who, data)
        return {"id": m.id, "display_name": m.display_name, "affiliation": m.affiliation}


@router.get("/referrals", responses=ERRORS, summary="Referrals (open ones first)")
def referrals(
    rt: RT, who: Member, state: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open"
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        q = select(CouncilReferral)
        if state != "all":
            q = q.where(CouncilReferral.state == state)
        rows = session.scalars(q.order_by(CouncilReferral.id.desc()).limit(200))
        return [service.referral_view(session, r, reveal_votes=True) for r in rows]


@router.get("/referrals/{referral_id}", responses=ERRORS, summary="A referral's redacted packet")
def get_referral(referral_id: RowId, rt: RT, _: Member) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return service.referral_view(session, service.referral(session, referral_id), reveal_votes=True)


@router.post("/referrals", status_code=201, responses=ERRORS, summary="Ask the council about a policy change")
def refer_policy(data: service.PolicyReferralIn, rt: RT, who: Manager) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return service.referral_view(
            session, service.refer_policy(session, rt, who, data), reveal_votes=False
        )


@router.post(
    "/referrals/{referral_id}/votes", status_code=201, responses=ERRORS, summary="Vote with a rationale"
)
def vote(referral_id: RowId, data: service.VoteIn, rt: RT, who: Member) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        row = service.cast(session, rt, who, referral_id, data)
        return {"referral_id": referral_id, "vote": data.vote, "tags": row.tags}


@router.post("/referrals/{referral_id}/close", responses=ERRORS, summary="Close voting; the bridging result")
def close(referral_id: RowId, rt: RT, who: Manager) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return service.referral_view(session, service.close(session, rt, who, referral_id), reveal_votes=True)
