"""Policy and text-bank versions: list them, and request changes that a second person approves."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access.approvals import approval_view
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import POLICIES_READ, POLICY_PUBLISH, TEXTBANK_EDIT
from townsquare.api_types import PENDING, Version
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import NotFound
from townsquare.pipeline.refresh import refresh_states
from townsquare.policy import publishing, service
from townsquare.policy import textbank_versions as banks

policies = APIRouter(prefix="/v1/policies", tags=["policy"])
textbanks = APIRouter(prefix="/v1/textbanks", tags=["policy"])


class Publish(BaseModel):
    """Move a policy version to a new lifecycle state."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["draft", "shadow", "live", "retired"]
    reason: str = Field(min_length=1, max_length=2_000)


@policies.get("", responses=ERRORS, summary="Every policy version and its state")
def list_policies(rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return service.list_versions(session)


@policies.get("/{area}/versions/{version}", responses=ERRORS, summary="One policy version in full")
def get_policy(
    area: str, version: Version, rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
    try:
        spec = rt.policies.version(area, version)
    except KeyError as exc:
        raise NotFound(f"policy {area} has no version {version}", {"field": "version"}) from exc
    return {
        "area": area,
        "title": spec.title,
        "content_hash": spec.content_hash,
        **spec.policy.model_dump(mode="json"),
    }


@policies.post(
    "/{area}/versions/{version}/publish",
    status_code=202,
    responses={**ERRORS, **PENDING},
    summary="Request publishing a version; a second publisher approves it",
)
def publish(
    area: str,
    version: Version,
    data: Publish,
    rt: RT,
    who: Annotated[Principal, Depends(require(POLICY_PUBLISH))],
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        approval = publishing.request_publish(session, rt, who, area, version, data.state, data.reason)
        return approval_view(approval)


class BankProposal(BaseModel):
    """A new text-bank version (the bank file's content as JSON) and why."""

    model_config = ConfigDict(extra="forbid")

    bank: dict[str, Any] = Field(description="policy, version, description, auto_threshold, terms, ...")
    reason: str = Field(min_length=1, max_length=2_000)


class BankRequest(BaseModel):
    """Why a proposed bank version should go live."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


@textbanks.get("", responses=ERRORS, summary="Every text-bank version, its state, and whether it scores")
def list_textbanks(rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
        return banks.list_view(session, rt)


@textbanks.get("/{policy}/versions/{version}", responses=ERRORS, summary="One text-bank version in full")
def get_textbank(
    policy: str, version: Version, rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        row = banks.get_row(session, policy, version)
        bank: dict[str, Any] = json.loads(row.content)
        return {"state": row.state, "content_hash": row.content_hash, "bank": bank}


@textbanks.post(
    "/{policy}/versions",
    status_code=202,
    responses={**ERRORS, **PENDING},
    summary="Propose a new bank version; a second person with policy:publish puts it live",
)
def propose_textbank(
    policy: str, data: BankProposal, rt: RT, who: Annotated[Principal, Depends(require(TEXTBANK_EDIT))]
) -> JSONResponse:
    with transaction(rt.sessions) as session:
        approval = publishing.propose_textbank(session, rt, who, policy, data.bank, data.reason)
        return JSONResponse(approval_view(approval), status_code=202)


@textbanks.post(
    "/{policy}/versions/{version}/request",
    status_code=202,
    responses={**ERRORS, **PENDING},
    summary="Ask for a proposed version (e.g. one found in the files) to go live",
)
def request_textbank(
    policy: str,
    version: Version,
    data: BankRequest,
    rt: RT,
    who: Annotated[Principal, Depends(require(TEXTBANK_EDIT))],
) -> JSONResponse:
    with transaction(rt.sessions) as session:
        row = banks.get_row(session, policy, version)
        approval = publishing.request_textbank(session, rt, who, row, data.reason)
        return JSONResponse(approval_view(approval), status_code=202)


router = APIRouter()
router.include_router(policies)
router.include_router(textbanks)
