"""Appeals and reinstatement over HTTP: platforms file for their users; appeals reviewers and staff decide."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import ACTION_REINSTATE, APPEALS_DECIDE, APPEALS_FILE
from townsquare.api_types import RowId
from townsquare.appeals import reinstatement, service
from townsquare.appeals.models import Appeal, ReinstatementApplication
from townsquare.content.api import ERRORS, RT
from townsquare.db import idempotent, transaction
from townsquare.pipeline.refresh import refresh_states

router = APIRouter(prefix="/v1", tags=["appeals"])
Filer = Annotated[Principal, Depends(require(APPEALS_FILE))]
Reviewer = Annotated[Principal, Depends(require(APPEALS_DECIDE))]
Reinstater = Annotated[Principal, Depends(require(ACTION_REINSTATE))]


@router.post("/appeals", status_code=201, responses=ERRORS, summary="File an appeal for a platform user")
def file_appeal(data: service.AppealIn, rt: RT, _: Filer) -> dict[str, Any]:
    return idempotent(
        rt.sessions,
        lambda session: service.view(
            service.file_appeal(session, rt, rt.appeal_rules, data, "api"), rt.now()
        ),
    )


@router.get("/appeals", responses=ERRORS, summary="Appeals by state, oldest due first")
def list_appeals(
    rt: RT, _: Reviewer, state: Annotated[str, Query(pattern="^(received|in_review|decided|open)$")] = "open"
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        q = select(Appeal)
        q = q.where(Appeal.state != "decided") if state == "open" else q.where(Appeal.state == state)
        rows = session.scalars(q.order_by(Appeal.sla_due_at, Appeal.id).limit(500))
        return [service.view(a, rt.now()) for a in rows]


@router.get("/appeals/stats", responses=ERRORS, summary="Reversal rates by policy and by original source")
def appeal_stats(rt: RT, _: Reviewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        rows = session.execute(
            select(Appeal.policy, Appeal.original_source, Appeal.outcome).where(Appeal.state == "decided")
        ).all()
    return {"by_policy": _rates(rows, 0), "by_source": _rates(rows, 1), "decided": len(rows)}


def _rates(rows: Sequence[Any], key: int) -> dict[str, dict[str, Any]]:
    decided: Counter[str] = Counter()
    reversed_: Counter[str] = Counter()
    for row in rows:
        k = str(row[key])
        decided[k] += 1
        reversed_[k] += int(row[2] in ("overturned", "modified"))
    return {
        k: {"decided": n, "reversed": reversed_[k], "reversal_rate": round(reversed_[k] / n, 4)}
        for k, n in decided.items()
    }


@router.get("/appeals/{appeal_id}", responses=ERRORS, summary="One appeal")
def get_appeal(appeal_id: RowId, rt: RT, _: Reviewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return service.view(service.get(session, appeal_id), rt.now())


@router.post(
    "/appeals/{appeal_id}/take", responses=ERRORS, summary="Take an appeal (not one you took part in)"
)
def take_appeal(appeal_id: RowId, rt: RT, who: Reviewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return service.view(service.take(session, rt, who, appeal_id), rt.now())


@router.post("/appeals/{appeal_id}/decide", responses=ERRORS, summary="Uphold, overturn or modify")
def decide_appeal(appeal_id: RowId, data: service.AppealDecision, rt: RT, who: Reviewer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
        return service.view(service.decide(session, rt, who, appeal_id, data), rt.now())


@router.post(
    "/reinstatements", status_code=201, responses=ERRORS, summary="A banned user applies to come back"
)
def apply(data: reinstatement.ApplicationIn, rt: RT, _: Filer) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return reinstatement.public_entry(reinstatement.apply(session, rt, rt.appeal_rules, data))


@router.get("/reinstatements", responses=ERRORS, summary="Applications awaiting staff or the council")
def list_applications(rt: RT, _: Reinstater) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        rows = session.scalars(
            select(ReinstatementApplication)
            .where(ReinstatementApplication.state.in_(("staff_review", "council")))
            .order_by(ReinstatementApplication.id)
        )
        return [reinstatement.staff_view(a, rt.now()) for a in rows]


@router.get("/reinstatements/{application_id}", responses=ERRORS, summary="One application (staff view)")
def get_application(application_id: RowId, rt: RT, _: Reinstater) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return reinstatement.staff_view(reinstatement.get(session, application_id), rt.now())


@router.post("/reinstatements/{application_id}/votes", responses=ERRORS, summary="A staff reviewer's view")
def staff_vote(
    application_id: RowId, data: reinstatement.StaffVote, rt: RT, who: Reinstater
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        app = reinstatement.vote(session, rt, rt.appeal_rules, who, application_id, data)
        return reinstatement.staff_view(app, rt.now())


@router.post("/reinstatements/{application_id}/decide", responses=ERRORS, summary="The final call")
def decide_application(
    application_id: RowId, data: reinstatement.FinalDecision, rt: RT, who: Reinstater
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        app = reinstatement.decide(session, rt, rt.appeal_rules, who, application_id, data)
        return reinstatement.staff_view(app, rt.now())
