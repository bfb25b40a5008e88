"""Staff user administration: list, create (one-time password), disable, grant and revoke roles."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access import staff
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import ROLES_GRANT, USERS_MANAGE, USERS_READ
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction

router = APIRouter(prefix="/v1/users", tags=["users"])

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class UserCreate(BaseModel):
    """A new person; roles are granted separately, so each grant is its own event."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(pattern=USERNAME, max_length=64)
    display_name: str = Field(default="", max_length=128)


class Disable(BaseModel):
    """Why the user is disabled (recorded in the event log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


class RoleGrantIn(BaseModel):
    """A role to grant, and why."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1, max_length=32)
    reason: str = Field(min_length=1, max_length=2_000)


@router.get("", responses=ERRORS, summary="Every staff user with roles, status and failed logins")
def list_users(rt: RT, _: Annotated[Principal, Depends(require(USERS_READ))]) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return staff.list_users(session, rt)


@router.post("", status_code=201, responses=ERRORS, summary="Create a person (one-time password shown once)")
def create_user(
    data: UserCreate, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        user, password = staff.create_person(
            session, rt, data.username, actor=who.actor, display_name=data.display_name
        )
        row = staff.user_row(session, user, rt.now())
    return {**row, "one_time_password": password}


@router.post("/{username}/disable", responses=ERRORS, summary="Disable a user; their sessions and tokens end")
def disable_user(
    username: str, data: Disable, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        revoked = staff.disable_user(
            session, rt, username, actor=who.actor, reason=data.reason, by_user_id=who.user_id
        )
    return {"username": username, "status": "disabled", **revoked}


@router.post(
    "/{username}/roles",
    status_code=201,
    responses={**ERRORS, 202: {"description": "Granting admin: waiting for a second approver"}},
    summary="Grant a role (never more than you hold; admin needs a second approver)",
)
def grant_role(
    username: str,
    data: RoleGrantIn,
    response: Response,
    rt: RT,
    who: Annotated[Principal, Depends(require(ROLES_GRANT))],
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        result = staff.grant(session, rt, who, username, data.role, reason=data.reason)
    if result["status"] == "pending_approval":
        response.status_code = 202
    return result


@router.delete("/{username}/roles/{role}", responses=ERRORS, summary="Revoke a role")
def revoke_role(
    username: str,
    role: str,
    rt: RT,
    who: Annotated[Principal, Depends(require(ROLES_GRANT))],
    reason: Annotated[str, Query(max_length=2_000)] = "",
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        count = staff.revoke(session, rt, who, username, role, actor=who.actor, reason=reason)
    return {"username": username, "role": role, "revoked": count}
