"""Stream endpoints: the backlog and workers, one message's status, the dead-letter stream and retries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import POSTS_READ, STREAM_MANAGE, STREAM_READ
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.eventlog.events import record
from townsquare.stream import dead, service

router = APIRouter(prefix="/v1/stream", tags=["stream"])
ERRORS = {**ERRORS, 503: {"description": "Redis does not answer"}}


@router.get("/status", responses=ERRORS, summary="Ingest mode, backlog per shard, dead letters, workers")
def stream_status(rt: RT, _: Annotated[Principal, Depends(require(STREAM_READ))]) -> dict[str, Any]:
    return service.status(rt)


@router.get(
    "/messages/{shard}/{entry_id}",
    responses=ERRORS,
    summary="A queued message's status: queued, processed (with its decision), dead or retried",
)
def message_status(
    shard: int, entry_id: str, rt: RT, _: Annotated[Principal, Depends(require(POSTS_READ))]
) -> dict[str, Any]:
    with service.redis_guard(rt.settings):
        return service.message_status(rt, shard, entry_id)


@router.get("/dead", responses=ERRORS, summary="Dead-lettered messages with their errors, oldest first")
def dead_letters(
    rt: RT,
    _: Annotated[Principal, Depends(require(STREAM_READ))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str, Query(max_length=44)] = "",
) -> dict[str, Any]:
    client = service.producer(rt.settings).client
    with service.redis_guard(rt.settings):
        items = dead.entries(client, rt.settings, limit, after)
        return {"count": dead.count(client, rt.settings), "items": items}


@router.post("/dead/{dead_id}/retry", responses=ERRORS, summary="Put a dead-lettered message back (once)")
def retry_dead(
    dead_id: str, rt: RT, who: Annotated[Principal, Depends(require(STREAM_MANAGE))]
) -> dict[str, Any]:
    return retry(rt, dead_id, who.actor)


def retry(rt: Any, dead_id: str, actor: str) -> dict[str, Any]:
    """Retry a dead entry and record who did it in the event log."""
    with service.redis_guard(rt.settings):
        out = dead.retry(service.producer(rt.settings).client, rt.settings, dead_id)
    with transaction(rt.sessions) as session:
        record(
            session,
            "stream.retried",
            actor=actor,
            subject_type="stream_message",
            subject_id=out["message"],
            at=rt.now(),
            payload={"dead_id": dead_id},
        )
    return out
