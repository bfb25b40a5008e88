"""Actions: statements of reasons, user notices, human enforcement decisions and reversals."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from townsquare.access.approvals import approval_view
from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import (
    ACTION_LABEL,
    ACTION_PERMISSION,
    ACTION_REINSTATE,
    ACTIONS_READ,
    BULK_DECIDE,
)
from townsquare.api_types import PENDING, RowId
from townsquare.appeals.links import appeal_url
from townsquare.content.api import ERRORS, RT
from townsquare.content.views import action_by_id, action_view
from townsquare.db import idempotent, transaction
from townsquare.enforcement import human
from townsquare.enforcement.models import Action
from townsquare.enforcement.notice import APPEAL_MONTHS, render_notice
from townsquare.enforcement.notice import _add_months as add_months
from townsquare.enforcement.schemas import BulkDecision, HumanAction, Reversal
from townsquare.taxonomy import area_title

router = APIRouter(prefix="/v1/actions", tags=["enforcement"])


def _answer(out: Action | Approval, status: int = 201) -> Any:
    if isinstance(out, Approval):
        return JSONResponse(approval_view(out), status_code=202)
    return JSONResponse(action_view(out), status_code=status)


@router.post(
    "", status_code=201, responses={**ERRORS, **PENDING}, summary="Apply an action decided by a person"
)
def create_action(
    data: HumanAction, rt: RT, who: Annotated[Principal, Depends(require(ACTION_LABEL))]
) -> Any:
    # The route admits anyone who may apply the lowest rung; each rung needs its own permission.
    who.need(ACTION_PERMISSION[data.action])

    def work(session: Session) -> Any:
        out = human.act(session, rt, who, data)
        session.flush()
        return _answer(out)

    return idempotent(rt.sessions, work)


@router.post(
    "/bulk",
    responses={**ERRORS, **PENDING},
    summary="One post action on many posts; above the configured size it needs a second person",
)
def bulk_action(data: BulkDecision, rt: RT, who: Annotated[Principal, Depends(require(BULK_DECIDE))]) -> Any:
    who.need(ACTION_PERMISSION[data.action])
    with transaction(rt.sessions) as session:
        out = human.bulk(session, rt, who, data)
        if isinstance(out, Approval):
            return JSONResponse(approval_view(out), status_code=202)
        return out


@router.post(
    "/{action_id}/reverse", responses={**ERRORS, **PENDING}, summary="Reverse an action (a new event)"
)
def reverse_action(
    action_id: RowId, data: Reversal, rt: RT, who: Annotated[Principal, Depends(require(ACTION_REINSTATE))]
) -> Any:
    with transaction(rt.sessions) as session:
        return _answer(human.reverse(session, rt, who, action_id, data.reason), status=200)


@router.get("/{action_id}", responses=ERRORS, summary="One action")
def get_action(
    action_id: RowId, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return action_view(action_by_id(session, action_id))


@router.get("/{action_id}/statement", responses=ERRORS, summary="The DSA statement of reasons (JSON)")
def get_statement(
    action_id: RowId, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        statement: dict[str, Any] = action_by_id(session, action_id).statement
        return statement


@router.get(
    "/{action_id}/notice",
    responses=ERRORS,
    response_class=PlainTextResponse,
    summary="The notice sent to the affected user",
)
def get_notice(
    action_id: RowId, request: Request, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
) -> str:
    # Without a configured public address, links point at the address this service answered on.
    base = rt.settings.public_url or str(request.base_url)
    with transaction(rt.sessions) as session:
        action = action_by_id(session, action_id)
        try:
            spec = rt.policies.version(action.policy, action.policy_version)
            definition = spec.policy.definition
        except KeyError:
            definition = ""
        applied = action.created_at.date()
        # A window in days can fall short of six calendar months (183 days from 2 March); never below it.
        deadline = max(
            applied + timedelta(days=rt.settings.appeal_window_days), add_months(applied, APPEAL_MONTHS)
        )
        return render_notice(
            action.statement,
            policy_title=area_title(action.policy),
            policy_definition=definition,
            evidence=list(action.evidence or []),
            appeal_url=appeal_url(
                base,
                rt.link_key,
                "action",
                action.puid,
                action.account.platform_id,
                datetime.combine(deadline, time.max, tzinfo=UTC),
            ),
            appeal_deadline=deadline,
            post_excerpt=action.post.text[:280] if action.post is not None else None,
            policy_version=str(action.policy_version),
        )
