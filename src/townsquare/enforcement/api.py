"""Actions: statements of reasons, user notices, human enforcement decisions and reversals."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import ACTION_LABEL, ACTION_PERMISSION, ACTION_REINSTATE, ACTIONS_READ
from townsquare.content import repository as repo
from townsquare.content.api import ERRORS, RT
from townsquare.content.views import action_by_id, action_view
from townsquare.db import transaction
from townsquare.enforcement import service as enforcement
from townsquare.enforcement.notice import APPEAL_MONTHS, render_notice
from townsquare.enforcement.notice import _add_months as add_months
from townsquare.errors import Invalid
from townsquare.policy import service as policy_service
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACCOUNT_ACTIONS, AREA_IDS, area_title

router = APIRouter(prefix="/v1/actions", tags=["enforcement"])


class HumanAction(BaseModel):
    """A moderator's decision to apply a rung of the ladder."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"]
    policy: Literal[AREA_IDS]  # type: ignore[valid-type]
    post: str | None = Field(default=None, description="Post platform id (post actions)")
    account: str | None = Field(default=None, description="Account platform id (account actions)")
    reason: str = Field(default="", max_length=2_000)
    duration_days: int | None = Field(default=None, ge=1, le=3650)
    strike: bool = True


class Reversal(BaseModel):
    """Why an action is reversed."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


def _target(session: Any, data: HumanAction) -> tuple[Any, Any]:
    if data.action in ACCOUNT_ACTIONS:
        if not data.account:
            raise Invalid(f"{data.action} acts on an account; name it", {"field": "account"})
        return None, repo.account(session, data.account)
    if not data.post:
        raise Invalid(f"{data.action} acts on a post; name it", {"field": "post"})
    post = repo.post(session, data.post)
    return post, post.author


def _human_request(rt: Runtime, session: Any, data: HumanAction, actor: str) -> enforcement.ActionRequest:
    if data.action != "label" and not data.reason.strip():
        raise Invalid("a reason is required for anything above a label", {"field": "reason"})
    post, account = _target(session, data)
    spec = rt.policies.live(data.policy)
    if spec is None:
        raise Invalid(f"policy {data.policy} has no live version", {"field": "policy"})
    days = data.duration_days
    if data.action == "suspend" and days is None:
        raise Invalid("a suspension needs duration_days", {"field": "duration_days"})
    strikes = spec.policy.strikes
    return enforcement.ActionRequest(
        action_type=data.action,
        policy=data.policy,
        policy_version=spec.version,
        account=account,
        actor=actor,
        automated=False,
        post=post,
        reason=data.reason,
        facts=f"A moderator found a violation of the {area_title(data.policy)} policy (v{spec.version}).",
        ends_at=rt.now() + timedelta(days=days) if data.action == "suspend" and days else None,
        strike_days=strikes.expire_days if (data.strike and strikes.issue) else None,
        platform=rt.settings.platform,
    )


@router.post("", status_code=201, responses=ERRORS, summary="Apply an action decided by a person")
def create_action(
    data: HumanAction, rt: RT, who: Annotated[Principal, Depends(require(ACTION_LABEL))]
) -> dict[str, Any]:
    # The route admits anyone who may apply the lowest rung; each rung needs its own permission.
    who.need(ACTION_PERMISSION[data.action])
    with transaction(rt.sessions) as session:
        policy_service.refresh_states(session, rt)  # cite the version live now, even if the CLI published it
        action = enforcement.apply(session, _human_request(rt, session, data, who.actor), rt.now())
        session.flush()
        return action_view(action)


@router.post("/{action_id}/reverse", responses=ERRORS, summary="Reverse an action (a new event)")
def reverse_action(
    action_id: int, data: Reversal, rt: RT, who: Annotated[Principal, Depends(require(ACTION_REINSTATE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        action = enforcement.reverse(
            session, action_by_id(session, action_id), actor=who.actor, reason=data.reason, now=rt.now()
        )
        return action_view(action)


@router.get("/{action_id}", responses=ERRORS, summary="One action")
def get_action(
    action_id: int, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return action_view(action_by_id(session, action_id))


@router.get("/{action_id}/statement", responses=ERRORS, summary="The DSA statement of reasons (JSON)")
def get_statement(
    action_id: int, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
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
def get_notice(action_id: int, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]) -> str:
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
            appeal_url=f"{rt.settings.public_url}/appeals/new?action={action.puid}",
            appeal_deadline=deadline,
            post_excerpt=action.post.text[:280] if action.post is not None else None,
            policy_version=str(action.policy_version),
        )
