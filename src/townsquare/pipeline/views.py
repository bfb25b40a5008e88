"""What the ingest API answers about a decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content import repository as repo
from townsquare.content.models import Post
from townsquare.enforcement.models import Action
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime


def decision_view(
    verdict: Verdict | dict[str, Any], action: Action | None, base_url: str = ""
) -> dict[str, Any]:
    """What the ingest API returns about a decision (from a Verdict or a verdicts-table row with its id)."""
    v = verdict if isinstance(verdict, dict) else {k: getattr(verdict, k) for k in _VIEW_FIELDS}
    exp = v["explanation"] or {}
    primary = next((e for e in exp.get("evaluations", []) if e.get("area") == v["policy"]), None)
    return {
        "verdict_id": v["id"],
        "post_version": v["post_version"],
        "outcome": v["outcome"],
        "policy": v["policy"],
        "policy_version": v["policy_version"],
        "action": v["action"],
        "proposed_action": v["proposed_action"],
        "needs_human": bool(primary and ("account_action_needs_human" in primary.get("reasons", []))),
        "reasons": primary.get("reasons", []) if primary else [],
        "action_id": action.id if action else None,
        "puid": action.puid if action else None,
        "statement_url": f"{base_url}/v1/actions/{action.id}/statement" if action else None,
    }


_VIEW_FIELDS = (
    "id",
    "post_version",
    "outcome",
    "policy",
    "policy_version",
    "action",
    "proposed_action",
    "explanation",
)


def now_or(value: datetime | None, rt: Runtime) -> datetime:
    """A client-supplied time, or now."""
    return value or rt.now()


def _decision_of(session: Session, verdict: Verdict | None, base_url: str = "") -> dict[str, Any]:
    if verdict is None:
        return {"outcome": "pending"}
    action = session.scalar(select(Action).where(Action.verdict_id == verdict.id).limit(1))
    return decision_view(verdict, action, base_url)


def first_decision(session: Session, post: Post, base_url: str = "") -> dict[str, Any]:
    """The first live decision made on a post (what a repeated send gets back)."""
    verdict = session.scalar(
        select(Verdict)
        .where(Verdict.post_id == post.id, Verdict.mode == "live")
        .order_by(Verdict.id)
        .limit(1)
    )
    return _decision_of(session, verdict, base_url)


def current_decision(session: Session, post: Post) -> dict[str, Any]:
    """The latest live decision on a post (what an edit that changes nothing gets back)."""
    return _decision_of(session, repo.latest_verdict(session, post.id))
