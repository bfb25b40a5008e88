"""The two-person rule's queue: pending approvals, oldest first, and the second person's decision."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access import approvals, independence
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import APPROVALS_VIEW
from townsquare.api_types import RowId
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import Conflict
from townsquare.runtime import Runtime

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

Status = Literal["pending", "approved", "rejected", "expired", "cancelled", "failed", "all"]


class Decision(BaseModel):
    """Why the second person approves or rejects."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2_000)


class Rejection(BaseModel):
    """Why the second person rejects (or the requester withdraws)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


@router.get("", responses=ERRORS, summary="Approvals in a state (default: the pending queue), oldest first")
def list_approvals(
    rt: RT,
    _: Annotated[Principal, Depends(require(APPROVALS_VIEW))],
    status: Annotated[Status, Query(description="Which approvals; `all` for every state")] = "pending",
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        rows = approvals.list_approvals(session, rt, None if status == "all" else status)
        return [approvals.approval_view(a) for a in rows]


@router.get("/{approval_id}", responses=ERRORS, summary="One approval")
def get_approval(
    approval_id: RowId, rt: RT, _: Annotated[Principal, Depends(require(APPROVALS_VIEW))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        approvals.expire_due(session, rt)
        return approvals.approval_view(approvals.get(session, approval_id))


def _decide(rt: Runtime, who: Principal, approval_id: RowId, approve: bool, reason: str) -> dict[str, Any]:
    try:
        with transaction(rt.sessions) as session:
            approval = approvals.decide(session, rt, who, approval_id, approve, reason)
            view = approvals.approval_view(approval)
    except independence.NotIndependent as refused:
        # The refusal itself is recorded (event + auditors' alert) in a transaction of its own.
        with transaction(rt.sessions) as session:
            independence.record_refusal(session, rt, refused, approval_id)
        raise
    except approvals.ExecutionFailed as failed:
        # The change rolled back; the approval is closed as failed in a transaction of its own.
        with transaction(rt.sessions) as session:
            approvals.record_failure(session, rt, who, approval_id, failed.cause)
        raise failed.cause from None
    if view["status"] == "expired":
        raise Conflict(f"approval {approval_id} expired at {view['expires_at']}", {"field": "approval_id"})
    return view


@router.post("/{approval_id}/approve", responses=ERRORS, summary="Approve and carry out the change")
def approve(
    approval_id: RowId,
    data: Decision,
    rt: RT,
    who: Annotated[Principal, Depends(require(APPROVALS_VIEW))],
) -> dict[str, Any]:
    # The route admits the approvals queue; the approval names the permission its approver needs.
    return _decide(rt, who, approval_id, True, data.reason)


@router.post("/{approval_id}/reject", responses=ERRORS, summary="Reject (or, as the requester, withdraw)")
def reject(
    approval_id: RowId,
    data: Rejection,
    rt: RT,
    who: Annotated[Principal, Depends(require(APPROVALS_VIEW))],
) -> dict[str, Any]:
    return _decide(rt, who, approval_id, False, data.reason)
