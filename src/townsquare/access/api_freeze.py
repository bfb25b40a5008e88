"""Freezes, break-glass grants and security alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access import alerts, breakglass, freeze
from townsquare.access.approvals import approval_view
from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import ALERTS_READ, BREAKGLASS_GRANT, FREEZE_USER
from townsquare.api_types import PENDING, RowId
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.eventlog import events

router = APIRouter(tags=["access"])


class FreezeCreate(BaseModel):
    """Freeze tool access for a user (at once), a role or everyone (with a second admin)."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["user", "role", "all"]
    target: str = Field(default="", max_length=64, description="Username (user) or role (role)")
    reason: str = Field(min_length=1, max_length=2_000)
    read_only: bool | None = Field(default=None, description="Keep read access (default from settings)")
    hours: float | None = Field(default=None, gt=0, le=24 * 365)


class FreezeChange(BaseModel):
    """Why a freeze is lifted or renewed, and for how long a renewal lasts."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)
    hours: float | None = Field(default=None, gt=0, le=24 * 365)


class BreakGlass(BaseModel):
    """Temporary elevated access for a named person, for a fixed time, with a reason."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    role: str = Field(min_length=1, max_length=32)
    minutes: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2_000)


def _pending(approval: Approval) -> JSONResponse:
    return JSONResponse(approval_view(approval), status_code=202)


@router.post(
    "/v1/freezes", status_code=201, responses={**ERRORS, **PENDING}, summary="Freeze a user, a role or all"
)
def create_freeze(
    data: FreezeCreate, rt: RT, who: Annotated[Principal, Depends(require(FREEZE_USER))]
) -> Any:
    with transaction(rt.sessions) as session:
        if data.scope == "user":
            row = freeze.freeze_user(
                session, rt, who, data.target, data.reason, read_only=data.read_only, hours=data.hours
            )
            return freeze.freeze_view(rt, row)
        approval = freeze.request_freeze(
            session, rt, who, data.scope, data.target, data.reason, read_only=data.read_only, hours=data.hours
        )
        return _pending(approval)


@router.get("/v1/freezes", responses=ERRORS, summary="Freezes, newest first")
def list_freezes(
    rt: RT,
    _: Annotated[Principal, Depends(require(FREEZE_USER))],
    active: Annotated[bool, Query(description="Only freezes in force now")] = False,
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return [freeze.freeze_view(rt, f) for f in freeze.list_freezes(session, rt, active_only=active)]


@router.post("/v1/freezes/{freeze_id}/lift", responses=ERRORS, summary="Lift a freeze at once")
def lift_freeze(
    freeze_id: RowId, data: FreezeChange, rt: RT, who: Annotated[Principal, Depends(require(FREEZE_USER))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return freeze.freeze_view(rt, freeze.lift(session, rt, who, freeze_id, data.reason))


@router.post(
    "/v1/freezes/{freeze_id}/renew",
    responses={**ERRORS, **PENDING},
    summary="Extend a freeze (a role or global one with a second admin)",
)
def renew_freeze(
    freeze_id: RowId, data: FreezeChange, rt: RT, who: Annotated[Principal, Depends(require(FREEZE_USER))]
) -> Any:
    with transaction(rt.sessions) as session:
        out = freeze.renew(session, rt, who, freeze_id, data.reason, data.hours)
        return _pending(out) if isinstance(out, Approval) else freeze.freeze_view(rt, out)


@router.post("/v1/breakglass", status_code=201, responses=ERRORS, summary="Grant a role for a few minutes")
def break_glass(
    data: BreakGlass, rt: RT, who: Annotated[Principal, Depends(require(BREAKGLASS_GRANT))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        grant = breakglass.break_glass(session, rt, who, data.username, data.role, data.minutes, data.reason)
        return {
            "grant_id": grant.id,
            "username": data.username,
            "role": grant.role,
            "break_glass": True,
            "expires_at": events.iso(grant.expires_at) if grant.expires_at else None,
            "reason": grant.reason,
        }


@router.get("/v1/alerts", responses=ERRORS, summary="Security alerts addressed to you, newest first")
def list_alerts(
    rt: RT,
    who: Annotated[Principal, Depends(require(ALERTS_READ))],
    unacknowledged: Annotated[bool, Query(description="Only alerts not yet acknowledged")] = False,
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return [alerts.alert_view(a) for a in alerts.list_alerts(session, who, unacknowledged=unacknowledged)]


@router.post("/v1/alerts/{alert_id}/ack", responses=ERRORS, summary="Acknowledge an alert")
def ack_alert(
    alert_id: RowId, rt: RT, who: Annotated[Principal, Depends(require(ALERTS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return alerts.alert_view(alerts.acknowledge(session, who, alert_id, now=rt.now()))
