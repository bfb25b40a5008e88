"""Policy versions: list them and publish state changes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import POLICIES_READ, POLICY_PUBLISH
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import NotFound
from townsquare.policy import service

router = APIRouter(prefix="/v1/policies", tags=["policy"])


class Publish(BaseModel):
    """Move a policy version to a new lifecycle state."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["draft", "shadow", "live", "retired"]
    reason: str = Field(min_length=1, max_length=2_000)


@router.get("", responses=ERRORS, summary="Every policy version and its state")
def list_policies(rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return service.list_versions(session)


@router.get("/{area}/versions/{version}", responses=ERRORS, summary="One policy version in full")
def get_policy(
    area: str, version: int, rt: RT, _: Annotated[Principal, Depends(require(POLICIES_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        service.refresh_states(session, rt)
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


@router.post("/{area}/versions/{version}/publish", responses=ERRORS, summary="Publish a version (an event)")
def publish(
    area: str,
    version: int,
    data: Publish,
    rt: RT,
    who: Annotated[Principal, Depends(require(POLICY_PUBLISH))],
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        service.publish(session, rt, area, version, data.state, actor=who.actor, reason=data.reason)
        return [v for v in service.list_versions(session) if v["area"] == area]
