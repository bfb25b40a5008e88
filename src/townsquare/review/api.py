"""The review workbench's JSON API (the pages use the same services)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from townsquare.access.approvals import approval_view
from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import AUTOMATION_PAUSE, BULK_DECIDE, CASE_DECIDE, NOTIFICATIONS_READ, QUEUE_VIEW
from townsquare.api_types import MAX_ROW_ID, PENDING, RowId
from townsquare.content import repository as repo
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import NotFound
from townsquare.eventlog import events
from townsquare.pipeline.refresh import refresh_states
from townsquare.review import bulk, dashboard, quality, service, views, worklist
from townsquare.review.models import Notification

router = APIRouter(prefix="/v1", tags=["review"])
Viewer = Annotated[Principal, Depends(require(QUEUE_VIEW))]
Decider = Annotated[Principal, Depends(require(CASE_DECIDE))]


class Escalation(BaseModel):
    """Why a case needs senior review."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


class PauseIn(BaseModel):
    """Pause automated action for a policy or for everything (the kill switch)."""

    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "policy"]
    policy: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=1, max_length=2_000)


class LiftIn(BaseModel):
    """Why a pause ends."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


def _queue_known(rt: Any, queue: str) -> None:
    if queue not in rt.router.queues:
        raise NotFound(f"no queue {queue}", {"field": "queue"})


@router.get("/queues", responses=ERRORS, summary="Every queue with its open cases and oldest age")
def queues(rt: RT, _: Viewer) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return views.queue_summary(session, rt)


@router.get("/queues/{queue}/cases", responses=ERRORS, summary="A queue's open cases, highest priority first")
def queue_cases(
    queue: str,
    rt: RT,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    dup_group: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    _queue_known(rt, queue)
    with transaction(rt.sessions) as session:
        return views.list_cases(session, rt, queue=queue, dup_group=dup_group, limit=limit)


@router.post(
    "/queues/{queue}/next",
    responses=ERRORS,
    summary="Take the highest-priority case you may take; says which cases above it were skipped and why",
)
def take_next(queue: str, rt: RT, who: Decider) -> dict[str, Any]:
    _queue_known(rt, queue)
    with transaction(rt.sessions) as session:
        case, skipped = worklist.take_next(session, rt, who, queue)
        if case is None:
            return {"case": None, "message": f"queue {queue} has no case you can take", "skipped": skipped}
        return {"case": views.case_view(session, rt, case), "skipped": skipped}


@router.get("/cases/{case_id}", responses=ERRORS, summary="Everything needed to decide a case")
def get_case(case_id: RowId, rt: RT, _: Viewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.case_view(session, rt, service.get_case(session, case_id))


@router.post("/cases/{case_id}/take", responses=ERRORS, summary="Take a case (a lock that expires)")
def take(case_id: RowId, rt: RT, who: Decider) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.case_view(session, rt, service.take(session, rt, who, case_id))


@router.post("/cases/{case_id}/release", responses=ERRORS, summary="Give a case back to its queue")
def release(case_id: RowId, rt: RT, who: Decider) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.case_row(service.release(session, rt, who, case_id), rt.now())


@router.post("/cases/{case_id}/decide", responses=ERRORS, summary="Decide a case you hold")
def decide(case_id: RowId, data: service.DecisionIn, rt: RT, who: Decider) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
        return service.decide(session, rt, who, case_id, data)


@router.post("/cases/{case_id}/escalate", responses=ERRORS, summary="Send a case to senior review")
def escalate(case_id: RowId, data: Escalation, rt: RT, who: Viewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.case_row(service.escalate(session, rt, who, case_id, data.reason), rt.now())


@router.post("/cases/bulk/preview", responses=ERRORS, summary="How many cases a bulk decision would cover")
def bulk_preview(
    data: bulk.CaseFilter, rt: RT, who: Annotated[Principal, Depends(require(BULK_DECIDE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return bulk.preview(session, rt, who, data)


@router.post(
    "/cases/bulk",
    responses={**ERRORS, **PENDING},
    summary="Decide every matching case (a second person approves above the size limit)",
)
def bulk_decide(
    data: bulk.BulkCaseDecision, rt: RT, who: Annotated[Principal, Depends(require(BULK_DECIDE))]
) -> Any:
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
        result = bulk.decide(session, rt, who, data)
        if isinstance(result, Approval):
            return JSONResponse(approval_view(result), status_code=202)
        return result


@router.get("/review/health", responses=ERRORS, summary="Queue health, agreement and automation precision")
def health(rt: RT, _: Viewer, hours: Annotated[int, Query(ge=1, le=24 * 30)] = 24) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return dashboard.health(session, rt, hours)


@router.get("/automation/pauses", responses=ERRORS, summary="Automation pauses in force")
def list_pauses(rt: RT, _: Viewer) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return dashboard.pauses(session)


@router.post(
    "/automation/pauses", status_code=201, responses=ERRORS, summary="Pause automation (kill switch)"
)
def pause(
    data: PauseIn, rt: RT, who: Annotated[Principal, Depends(require(AUTOMATION_PAUSE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        row = quality.pause(session, rt, who.actor, data.scope, data.policy, data.reason)
        refresh_states(session, rt)
        return {
            "id": row.id,
            "scope": row.scope,
            "policy": row.policy,
            "paused_at": events.iso(row.paused_at),
        }


@router.post("/automation/pauses/{pause_id}/lift", responses=ERRORS, summary="Lift an automation pause")
def lift(
    pause_id: RowId, data: LiftIn, rt: RT, who: Annotated[Principal, Depends(require(AUTOMATION_PAUSE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        row = quality.lift(session, rt, who, pause_id, data.reason)
        refresh_states(session, rt)
        return {"id": row.id, "lifted_at": events.iso(row.lifted_at) if row.lifted_at else None}


@router.get(
    "/notifications", responses=ERRORS, summary="Notifications for a platform user (e.g. report outcomes)"
)
def notifications(
    rt: RT,
    _: Annotated[Principal, Depends(require(NOTIFICATIONS_READ))],
    account: Annotated[str, Query(min_length=1, max_length=128)],
    after: Annotated[int, Query(ge=0, le=MAX_ROW_ID)] = 0,
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        acct = repo.account(session, account)
        rows = session.scalars(
            select(Notification)
            .where(Notification.account_id == acct.id, Notification.id > after)
            .order_by(Notification.id)
            .limit(500)
        )
        return [
            {
                "id": n.id,
                "kind": n.kind,
                "subject_type": n.subject_type,
                "subject": n.subject_id,
                "body": n.body,
                "created_at": events.iso(n.created_at),
            }
            for n in rows
        ]
