"""Audit endpoints over the event log: chain verification and on-demand checkpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from townsquare import chain
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import AUDIT_CHECKPOINT, AUDIT_READ
from townsquare.content.api import ERRORS, RT

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/verify", responses=ERRORS, summary="Verify the whole event chain and its signed checkpoints")
def verify(rt: RT, _: Annotated[Principal, Depends(require(AUDIT_READ))]) -> dict[str, Any]:
    result = chain.verify(rt)
    return {
        "ok": result.ok,
        "problems": result.problems,
        "batches": result.batches,
        "events": result.events,
        "head_seq": result.head_seq,
        "checkpoints": result.checkpoints,
        "latest_checkpoint": result.latest_checkpoint,
    }


@router.post("/checkpoint", responses=ERRORS, summary="Sign the chain head now")
def checkpoint(rt: RT, _: Annotated[Principal, Depends(require(AUDIT_CHECKPOINT))]) -> dict[str, Any]:
    return chain.checkpoint(rt)
