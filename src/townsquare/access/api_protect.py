"""Protected-subject tags on platform accounts, and staff users' links to their own accounts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access import protect
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import ACCOUNTS_READ, ACCOUNTS_TAG, USERS_MANAGE, USERS_READ
from townsquare.content import repository as repo
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction

router = APIRouter(tags=["access"])
PLATFORM_ID = r"^[A-Za-z0-9._:@-]{1,128}$"


class TagCreate(BaseModel):
    """A protected-subject tag."""

    model_config = ConfigDict(extra="forbid")

    tag: Literal["public_official", "candidate", "journalist", "staff"]


class LinkCreate(BaseModel):
    """A platform account that belongs to the staff user."""

    model_config = ConfigDict(extra="forbid")

    account: str = Field(pattern=PLATFORM_ID, description="The account's platform id")


def _tags(session: Any, platform_id: str) -> dict[str, Any]:
    account = repo.account(session, platform_id)
    return {
        "account": platform_id,
        "tags": protect.tags_of(session, account.id),
        "protected": protect.is_protected(session, account),
    }


@router.get(
    "/v1/accounts/{platform_id}/tags", responses=ERRORS, summary="An account's protected-subject tags"
)
def get_tags(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(ACCOUNTS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return _tags(session, platform_id)


@router.post(
    "/v1/accounts/{platform_id}/tags", status_code=201, responses=ERRORS, summary="Tag a protected subject"
)
def add_tag(
    platform_id: str, data: TagCreate, rt: RT, who: Annotated[Principal, Depends(require(ACCOUNTS_TAG))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        protect.add_tag(session, who, platform_id, data.tag, now=rt.now())
        return _tags(session, platform_id)


@router.delete("/v1/accounts/{platform_id}/tags/{tag}", responses=ERRORS, summary="Remove a tag")
def remove_tag(
    platform_id: str, tag: str, rt: RT, who: Annotated[Principal, Depends(require(ACCOUNTS_TAG))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        protect.remove_tag(session, who, platform_id, tag, now=rt.now())
        return _tags(session, platform_id)


@router.get("/v1/users/{username}/links", responses=ERRORS, summary="A staff user's own platform accounts")
def get_links(username: str, rt: RT, _: Annotated[Principal, Depends(require(USERS_READ))]) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return {"username": username, "accounts": protect.links_of(session, username)}


@router.post(
    "/v1/users/{username}/links", status_code=201, responses=ERRORS, summary="Link a staff user's own account"
)
def add_link(
    username: str, data: LinkCreate, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        protect.link_account(session, who, username, data.account, now=rt.now())
        return {"username": username, "accounts": protect.links_of(session, username)}


@router.delete("/v1/users/{username}/links/{account}", responses=ERRORS, summary="Remove a link")
def remove_link(
    username: str, account: str, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        protect.unlink_account(session, who, username, account, now=rt.now())
        return {"username": username, "accounts": protect.links_of(session, username)}
