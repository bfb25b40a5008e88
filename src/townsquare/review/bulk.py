"""Deciding many cases at once (a copy-paste wave): filter, preview, decide, with the two-person rule.

A filter picks open post cases (a near-duplicate group, a queue, a policy, text that the post
contains, or explicit ids). The preview says how many cases it holds and whether the decision will need
a second person (more than `TOWNSQUARE_BULK_APPROVAL_SIZE`). The decision applies one outcome to every
case; each case that fails its checks (taken by someone else, a protected subject, an own account) is
reported and left open, and the others go ahead.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import ACTION_PERMISSION, BULK_DECIDE
from townsquare.access.service import Principal
from townsquare.api_types import BodyId
from townsquare.content.models import Account, Post
from townsquare.enforcement import human
from townsquare.enforcement.schemas import BulkDecision
from townsquare.errors import Forbidden, Invalid
from townsquare.eventlog import events
from townsquare.review import reports
from townsquare.review.models import OPEN_STATES, Case, CaseDecision
from townsquare.review.views import case_row, holders
from townsquare.runtime import Runtime

MAX_CASES = 1000
PREVIEW_ROWS = 25
PREVIEW_AUTHORS = 50


class CaseFilter(BaseModel):
    """Which open post cases a bulk decision covers (every given field must match)."""

    model_config = ConfigDict(extra="forbid")

    dup_group: str | None = Field(default=None, max_length=32)
    queue: str | None = Field(default=None, max_length=48)
    policy: str | None = Field(default=None, max_length=64)
    contains: str | None = Field(
        default=None, min_length=3, max_length=200, description="Text the post contains"
    )
    case_ids: list[BodyId] | None = Field(default=None, min_length=1, max_length=MAX_CASES)

    @model_validator(mode="after")
    def _something(self) -> CaseFilter:
        if not any(
            v is not None for v in (self.dup_group, self.queue, self.policy, self.contains, self.case_ids)
        ):
            raise ValueError("give at least one filter: dup_group, queue, policy, contains or case_ids")
        return self


class BulkCaseDecision(BaseModel):
    """One decision for every case the filter matches."""

    model_config = ConfigDict(extra="forbid")

    filter: CaseFilter
    outcome: Literal["no_violation", "violation"]
    policy: str | None = Field(default=None, max_length=64)
    action: Literal["label", "reduce_reach", "demonetise", "remove"] | None = None
    reason: str = Field(min_length=1, max_length=2_000)


def _query(f: CaseFilter) -> Select[tuple[Case]]:
    q = select(Case).where(Case.state.in_(OPEN_STATES), Case.post_id.is_not(None), Case.kind.in_(("review",)))
    if f.dup_group:
        q = q.where(Case.dup_group == f.dup_group)
    if f.queue:
        q = q.where(Case.queue == f.queue)
    if f.policy:
        q = q.where(Case.policy == f.policy)
    if f.case_ids:
        q = q.where(Case.id.in_(f.case_ids))
    if f.contains:
        q = q.join(Post, Post.id == Case.post_id).where(Post.text.contains(f.contains, autoescape=True))
    return q


def matching(session: Session, f: CaseFilter) -> list[Case]:
    """The open post cases (reviews and automation samples) the filter picks, highest priority first."""
    q = _query(f).order_by(Case.priority.desc(), Case.id).limit(MAX_CASES + 1)
    return list(session.scalars(q))


def preview(session: Session, rt: Runtime, who: Principal, f: CaseFilter) -> dict[str, Any]:
    """How many cases a bulk decision would cover, the most common policy, the authors, a sample of the
    cases, and whether it needs approval (counted in the database: a preview of a long queue is quick)."""
    who.need(BULK_DECIDE)
    ids = _query(f).with_only_columns(Case.id).limit(MAX_CASES + 1).subquery()
    count = int(session.scalar(select(func.count()).select_from(ids)) or 0)
    policies: dict[str, int] = {
        str(pol): int(n)
        for pol, n in session.execute(
            select(Case.policy, func.count())
            .where(Case.id.in_(select(ids.c.id)), Case.policy.is_not(None))
            .group_by(Case.policy)
            .order_by(func.count().desc())
        )
    }
    authors = session.execute(
        select(Account.handle, Account.platform_id, func.count())
        .join(Case, Case.account_id == Account.id)
        .where(Case.id.in_(select(ids.c.id)))
        .group_by(Account.id, Account.handle, Account.platform_id)
        .order_by(func.count().desc(), Account.handle)
        .limit(PREVIEW_AUTHORS)
    ).all()
    distinct_authors = session.scalar(
        select(func.count(func.distinct(Case.account_id))).where(Case.id.in_(select(ids.c.id)))
    )
    rows = session.scalars(
        _query(f)
        .options(joinedload(Case.post), joinedload(Case.account))
        .order_by(Case.priority.desc(), Case.id)
        .limit(PREVIEW_ROWS)
    ).all()
    now, names = rt.now(), holders(session)
    sample = []
    for c in rows:
        row = case_row(c, now, names)
        row.update(
            {"author": c.account.handle, "author_id": c.account.platform_id, "protected": c.account.protected}
        )
        sample.append(row)
    return {
        "count": min(count, MAX_CASES),
        "truncated": count > MAX_CASES,
        "needs_approval": count > rt.settings.bulk_approval_size,
        "approval_size": rt.settings.bulk_approval_size,
        "policy": next(iter(policies), None),
        "policies": policies,
        "authors": [{"handle": h, "platform_id": pid, "cases": int(n)} for h, pid, n in authors],
        "author_count": int(distinct_authors or 0),
        "sample": sample,
    }


def check(rt: Runtime, who: Principal, data: BulkCaseDecision) -> None:
    """Whether `who` may make this bulk decision at all (campaign decisions check it too)."""
    who.need(BULK_DECIDE)
    if data.outcome == "violation":
        if not data.policy or data.policy not in rt.policies.areas():
            raise Invalid("a violation needs a known policy", {"field": "policy"})
        if not data.action:
            raise Invalid("a violation needs an action", {"field": "action"})
        who.need(ACTION_PERMISSION[data.action])


def decide(
    session: Session, rt: Runtime, who: Principal, data: BulkCaseDecision
) -> dict[str, Any] | Approval:
    """Decide every matching case now, or open an approval when there are more than the size limit."""
    check(rt, who, data)
    cases = matching(session, data.filter)
    if not cases:
        raise Invalid("no open case matches the filter", {"field": "filter"})
    if len(cases) > MAX_CASES:
        raise Invalid(f"the filter matches more than {MAX_CASES} cases; narrow it", {"field": "filter"})
    if len(cases) > rt.settings.bulk_approval_size:
        payload = {**data.model_dump(mode="json"), "case_ids": [c.id for c in cases]}
        summary = f"bulk {data.outcome} ({data.policy or '-'}/{data.action or '-'}) on {len(cases)} cases"
        return approvals.request_approval(
            session, rt, who, "case_bulk", payload, summary, BULK_DECIDE, data.reason
        )
    return apply(session, rt, who, data, [c.id for c in cases])


def apply(
    session: Session,
    rt: Runtime,
    who: Principal,
    data: BulkCaseDecision,
    case_ids: list[int],
    approval: Approval | None = None,
) -> dict[str, Any]:
    """Apply the decision case by case; per-case results."""
    if who.user_id is None:
        raise Forbidden("only a staff user can decide cases", {"field": "requested_by"})
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    results: list[dict[str, Any]] = []
    ready: list[Case] = []
    now = rt.now()
    for cid in case_ids:
        case = cases.get(cid)
        busy = (
            case is not None
            and case.assigned_to not in (None, who.user_id)
            and case.lock_expires_at
            and case.lock_expires_at > now
        )
        if case is None or case.state not in OPEN_STATES or busy:
            results.append(
                {"case_id": cid, "status": "skipped", "message": "decided, taken by someone else, or gone"}
            )
            continue
        ready.append(case)
    applied: dict[str, dict[str, Any]] = {}
    if data.outcome == "violation" and ready:
        assert data.policy
        assert data.action
        out = human.apply_bulk(
            session,
            rt,
            who,
            BulkDecision(
                posts=[c.post.platform_id for c in ready if c.post],
                action=data.action,
                policy=data.policy,
                reason=data.reason,
            ),
            approval,
        )
        applied = {r["post"]: r for r in out["results"]}
    for case in ready:
        assert case.post is not None
        item = applied.get(case.post.platform_id, {"status": "applied"})
        if item["status"] != "applied":
            results.append({"case_id": case.id, "status": "error", "message": item.get("message")})
            continue
        _close(session, rt, who, case, data, item.get("action_id"), approval)
        results.append({"case_id": case.id, "status": "decided", "action_id": item.get("action_id")})
    decided = sum(1 for r in results if r["status"] == "decided")
    return {"decided": decided, "failed": len(results) - decided, "results": results}


def _close(
    session: Session,
    rt: Runtime,
    who: Principal,
    case: Case,
    data: BulkCaseDecision,
    action_id: int | None,
    approval: Approval | None,
) -> None:
    assert who.user_id is not None
    assert case.post is not None
    now = rt.now()
    violation = data.outcome == "violation"
    session.add(
        CaseDecision(
            case_id=case.id,
            kind=case.kind,
            reviewer_id=who.user_id,
            outcome=data.outcome,
            policy=data.policy if violation else None,
            action=data.action if violation else None,
            reason=data.reason,
            action_id=action_id,
            approval_id=approval.id if approval else None,
            decided_at=now,
        )
    )
    case.state, case.decided_at, case.assigned_to, case.lock_expires_at = "decided", now, None, None
    case.decision = {
        "outcome": data.outcome,
        "policy": data.policy if violation else None,
        "action": data.action if violation else None,
        "reason": data.reason,
        "by": who.username,
        "bulk": True,
        "action_id": action_id,
        "approval_id": approval.id if approval else None,
    }
    case.revision += 1
    reports.settle_reports(
        session,
        rt,
        case,
        violation,
        {
            "subject": case.post.platform_id,
            "policy": data.policy if violation else None,
            "action": data.action if violation else None,
            "decided_at": events.iso(now),
        },
    )
    events.record(
        session,
        "case.decided",
        actor=who.actor,
        subject_type="case",
        subject_id=case.id,
        at=now,
        reason=data.reason,
        payload={
            "bulk": True,
            "outcome": data.outcome,
            "policy": data.policy,
            "action": data.action,
            "action_id": action_id,
            "approval_id": approval.id if approval else None,
        },
    )


@approvals.executor("case_bulk")
def _execute(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    who = approvals.requester(session, rt, approval, need=BULK_DECIDE)
    if who is None:
        raise Forbidden("only a staff user may ask for a bulk decision", {"field": "requested_by"})
    payload = dict(approval.payload)
    ids = [int(i) for i in payload.pop("case_ids")]
    data = BulkCaseDecision.model_validate(payload)
    check(rt, who, data)
    return apply(session, rt, who, data, ids, approval)
