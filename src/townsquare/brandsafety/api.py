"""Brand-safety endpoints (thin: the services do the work); every route names its permission."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import PlainTextResponse, Response

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import (
    ACCOUNTS_READ,
    BRANDSAFETY_ADMIN,
    BRANDSAFETY_CHECK,
    BRANDSAFETY_IMPRESSIONS,
    BRANDSAFETY_PROFILES,
    BRANDSAFETY_REPORTS,
    POSTS_READ,
)
from townsquare.brandsafety import impressions, report, service
from townsquare.brandsafety.schemas import (
    AdvertiserCreate,
    CheckRequest,
    ImpressionBatch,
    MemberAdd,
    ProfileCreate,
    ProfileUpdate,
)
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction

router = APIRouter(prefix="/v1/brand-safety", tags=["brand safety"])
ProfileId = Annotated[int, Path(ge=1, le=2**62)]
JSON_OR_CSV: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    200: {"description": "JSON, or CSV with format=csv", "content": {"application/json": {}, "text/csv": {}}},
}
Format = Literal["json", "csv"]


@router.post("/advertisers", status_code=201, responses=ERRORS, summary="Create an advertiser")
def create_advertiser(
    data: AdvertiserCreate, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_ADMIN))]
) -> dict[str, Any]:
    """A new advertiser; its staff are added as members."""
    with transaction(rt.sessions) as session:
        adv = service.create_advertiser(session, rt, who, data)
        session.flush()
        return service.advertiser_view(adv)


@router.get("/advertisers", responses=ERRORS, summary="The advertisers the caller may see")
def list_advertisers(
    rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_PROFILES))]
) -> dict[str, Any]:
    """One's own advertiser(s); every advertiser for a brand-safety admin."""
    with transaction(rt.sessions) as session:
        return {"advertisers": service.list_advertisers(session, who)}


@router.post("/advertisers/{key}/members", status_code=201, responses=ERRORS, summary="Add a member")
def add_member(
    key: str, data: MemberAdd, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_ADMIN))]
) -> dict[str, Any]:
    """Let a staff user (role `advertiser`) act for this advertiser."""
    with transaction(rt.sessions) as session:
        return service.add_member(session, rt, who, key, data.username)


@router.get("/profiles", responses=ERRORS, summary="The caller's profiles")
def list_profiles(
    rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_PROFILES))]
) -> dict[str, Any]:
    """Profiles of one's own advertiser(s)."""
    with transaction(rt.sessions) as session:
        return {"profiles": service.list_profiles(session, who)}


@router.post("/profiles", status_code=201, responses=ERRORS, summary="Create a profile")
def create_profile(
    data: ProfileCreate, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_PROFILES))]
) -> dict[str, Any]:
    """A preset, tolerances per category, excluded keywords and accounts, allow lists."""
    with transaction(rt.sessions) as session:
        return service.create_profile(session, rt, who, data)


@router.get("/profiles/{profile_id}", responses=ERRORS, summary="One profile")
def get_profile(
    profile_id: ProfileId, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_PROFILES))]
) -> dict[str, Any]:
    """A profile of one's own advertiser."""
    with transaction(rt.sessions) as session:
        p, key = service.visible_profile(session, who, profile_id)
        return service.profile_view(p, key)


@router.patch("/profiles/{profile_id}", responses=ERRORS, summary="Change a profile")
def update_profile(
    profile_id: ProfileId,
    data: ProfileUpdate,
    rt: RT,
    who: Annotated[Principal, Depends(require(BRANDSAFETY_PROFILES))],
) -> dict[str, Any]:
    """Only the fields sent change; the version goes up."""
    with transaction(rt.sessions) as session:
        return service.update_profile(session, rt, who, profile_id, data)


@router.post("/check", responses=ERRORS, summary="Adjacency check")
def check(
    data: CheckRequest, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_CHECK))]
) -> Response:
    """Allowed or blocked, with reasons, for up to 1,000 placements under one profile."""
    with transaction(rt.sessions) as session:
        body = service.check(session, rt, who, data)
    # Built by hand: 1,000 results through FastAPI's encoder would cost more than the check itself.
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.post("/impressions", status_code=201, responses=ERRORS, summary="Record impressions")
def record_impressions(
    data: ImpressionBatch, rt: RT, who: Annotated[Principal, Depends(require(BRANDSAFETY_IMPRESSIONS))]
) -> dict[str, Any]:
    """A batch of (ad, advertiser, placement post, time) records; all or nothing."""
    with transaction(rt.sessions) as session:
        return impressions.record(session, rt, who, data)


Since = Annotated[str, Query(description="ISO 8601 start (inclusive)")]
Until = Annotated[str, Query(description="ISO 8601 end (exclusive)")]


@router.get("/reports/{key}", responses=JSON_OR_CSV, summary="The advertiser report")
def get_report(
    key: str,
    rt: RT,
    who: Annotated[Principal, Depends(require(BRANDSAFETY_REPORTS))],
    since: Since = "1970-01-01",
    until: Until = "9999-12-31",
    format: Format = "json",
) -> Any:
    """Shares of impressions per category and risk, when served and now, and the brand-safety rate."""
    start, end = report.parse_range(since, until)
    with transaction(rt.sessions) as session:
        rep = report.build(session, rt, who, key, start, end)
    if format == "csv":
        return PlainTextResponse(report.report_csv(rep), media_type="text/csv")
    return rep


@router.get("/reports/{key}/export", responses=JSON_OR_CSV, summary="Impressions with their labels")
def export(
    key: str,
    rt: RT,
    who: Annotated[Principal, Depends(require(BRANDSAFETY_REPORTS))],
    since: Since = "1970-01-01",
    until: Until = "9999-12-31",
    format: Format = "json",
) -> Any:
    """Every impression with its placement's state when served and now: recompute every figure from it."""
    start, end = report.parse_range(since, until)
    with transaction(rt.sessions) as session:
        rows = report.export_rows(session, rt, who, key, start, end)
    if format == "csv":
        return PlainTextResponse(report.export_csv(rows), media_type="text/csv")
    return {"advertiser": key, "since": start.isoformat(), "until": end.isoformat(), "impressions": rows}


@router.get("/posts/{platform_id}", responses=ERRORS, summary="A post's suitability labels")
def post_labels(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(POSTS_READ))]
) -> dict[str, Any]:
    """The labels the index holds for a post, with their evidence and version."""
    with transaction(rt.sessions) as session:
        return service.post_labels(session, platform_id)


@router.get("/accounts/{platform_id}", responses=ERRORS, summary="An account's suitability labels")
def account_labels(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(ACCOUNTS_READ))]
) -> dict[str, Any]:
    """Categories an account carries (from its posts and account actions) and its standing."""
    with transaction(rt.sessions) as session:
        return service.account_labels(session, rt, platform_id)
