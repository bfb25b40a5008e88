"""How cases open: from the engine's verdicts, from reports (folded into one case per subject), from
samples of human and automated decisions, and from escalation. Every opening is an event.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.content import repository as repo
from townsquare.content.models import Account, Post
from townsquare.db import expire_loaded
from townsquare.eventlog import events
from townsquare.policy.engine import Decision, PolicyEvaluation
from townsquare.review import duplicates, likelihood, uphold
from townsquare.review.models import OPEN_STATES, Case
from townsquare.review.priority import PriorityInputs, priority
from townsquare.review.queues import Facts
from townsquare.runtime import Runtime

ACTOR = "service:review"
# Engine reasons that explain why a post needs a person, most specific first.
ROUTE_REASONS = (
    "non_english:review",
    "protected_author:review",
    "high_reach:review",
    "automation_disabled",
    "automation_paused",
    "reports:review",
    "score>=review_threshold",
)
CHECK_KINDS = ("second_review", "automation_qa", "escalation")


@dataclass
class Opening:
    """Everything a new case needs."""

    kind: str
    opened_reason: str
    account: Account
    post: Post | None = None
    reasons: list[str] = field(default_factory=list)
    policy: str | None = None
    proposed_action: str | None = None
    severity: str = "medium"
    score: float = 0.0
    scorer: str | None = None
    verdict_id: int | None = None
    action_id: int | None = None
    parent_case_id: int | None = None
    excluded: list[int] = field(default_factory=list)
    # The post was created in this transaction: it can have no open case and no view snapshots yet.
    new_post: bool = False


def sampled(rate: float, key: str) -> bool:
    """A deterministic draw: the same item is always in or out of a sample of this rate."""
    if rate <= 0:
        return False
    value = int(hashlib.sha256(f"townsquare-sample:{key}".encode()).hexdigest()[:12], 16) / 16**12
    return value < rate


def _reach(session: Session, case: Case, now: datetime) -> tuple[int, float]:
    if case.post_id is None:
        return 0, 0.0
    return repo.reach(session, case.post_id, now)


class _PriorityFacts(Protocol):
    """What a priority is computed from: a Case, or a row of the same columns."""

    severity: str
    score: float
    policy: str | None
    scorer: str | None
    brigading: dict[str, Any] | None
    report_count: int
    trusted_flagger: bool
    kind: str
    opened_at: datetime


def _calibration(rt: Runtime) -> likelihood.Likelihood | None:
    classifier = rt.classifier
    return likelihood.for_models(classifier.fast.manifest.files if classifier is not None else None)


def _inputs(
    c: _PriorityFacts,
    followers: int,
    reach: tuple[int, float],
    now: datetime,
    record: uphold.Record,
    calibration: likelihood.Likelihood | None = None,
) -> PriorityInputs:
    views, velocity = reach
    calibrated = calibration.of(c.policy, c.scorer, c.score) if calibration and c.kind == "review" else None
    trusted = _trusted(c)
    independent = int((c.brigading or {}).get("independent", c.report_count - trusted))
    return PriorityInputs(
        severity=c.severity,
        score=c.score,
        independent_reports=max(independent, 0),
        trusted_reports=trusted,
        views=views,
        velocity=velocity,
        followers=followers,
        hours_waiting=max((now - c.opened_at).total_seconds() / 3600, 0.0),
        check=c.kind in CHECK_KINDS,
        upheld=record.upheld,
        decided=record.decided,
        calibrated=None if calibrated is None else round(calibrated, 4),
    )


def refresh_priority(
    session: Session,
    rt: Runtime,
    case: Case,
    reach: tuple[int, float] | None = None,
    records: uphold.Records | None = None,
) -> None:
    """Recompute a case's priority from what is known now (views, velocity, reports, waiting time, and
    how often reviewers upheld its signal's cases)."""
    now = rt.now()
    known = reach if reach is not None else _reach(session, case, now)
    record = uphold.record_for(
        records if records is not None else uphold.records(session), case.policy, case.scorer
    )
    case.priority, case.priority_inputs = priority(
        _inputs(case, case.account.follower_count, known, now, record, _calibration(rt))
    )


def reprioritise_posts(session: Session, rt: Runtime, post_ids: set[int]) -> int:
    """New view counts change the expected harm: recompute the open cases of these posts.

    Runs on every metrics call for every post with an open case, so it reads columns and writes one
    bulk UPDATE rather than loading each case.
    """
    if not post_ids:
        return 0
    session.flush()  # the columns read below must include changes made earlier in this transaction
    rows = session.execute(
        select(
            Case.id,
            Case.post_id,
            Case.severity,
            Case.score,
            Case.brigading,
            Case.report_count,
            Case.trusted_flagger,
            Case.kind,
            Case.opened_at,
            Case.policy,
            Case.scorer,
            Account.follower_count,
        )
        .join(Account, Account.id == Case.account_id)
        .where(Case.post_id.in_(post_ids), Case.state.in_(OPEN_STATES))
    ).all()
    if not rows:
        return 0
    now = rt.now()
    reach = repo.reach_many(session, {r.post_id for r in rows}, now)
    found = uphold.records(session)
    calibration = _calibration(rt)
    updates = []
    for r in rows:
        record = uphold.record_for(found, r.policy, r.scorer)
        known = reach.get(r.post_id, (0, 0.0))
        value, inputs = priority(_inputs(r, r.follower_count, known, now, record, calibration))
        updates.append({"id": r.id, "priority": value, "priority_inputs": inputs})
    session.execute(update(Case), updates)
    expire_loaded(session, Case, [r.id for r in rows], ["priority", "priority_inputs"])
    return len(rows)


def _trusted(case: _PriorityFacts) -> int:
    return int((case.brigading or {}).get("trusted", 1 if case.trusted_flagger else 0))


def _facts(session: Session, rt: Runtime, case: Case, reach: tuple[int, float] | None = None) -> Facts:
    now = rt.now()
    views, velocity = reach if reach is not None else _reach(session, case, now)
    return Facts(
        kind=case.kind,
        policy=case.policy,
        scorer=case.scorer,
        language=case.post.language if case.post else None,
        views=views,
        velocity=velocity,
        followers=case.account.follower_count,
        protected=case.account.protected,
        report_reasons=tuple(case.report_reasons),
        election_period=bool(rt.calendar.active(now.date())),
        trusted_flagger=case.trusted_flagger,
    )


def route(session: Session, rt: Runtime, case: Case, reach: tuple[int, float] | None = None) -> None:
    """Put the case in the queue its rules say (escalations always go to the first rule's queue)."""
    case.queue = rt.router.route(_facts(session, rt, case, reach))


def existing(
    session: Session, subject_type: str, post: Post | None, account: Account, kind: str
) -> Case | None:
    """The open case of this kind on this subject, if any (new signals and reports fold into it)."""
    q = select(Case).where(Case.kind == kind, Case.state.in_(OPEN_STATES), Case.subject_type == subject_type)
    q = q.where(Case.post_id == post.id) if post is not None else q.where(Case.account_id == account.id)
    return session.scalars(q.order_by(Case.id).limit(1)).first()


def open_case(session: Session, rt: Runtime, o: Opening) -> Case:
    """Open a case (or fold into the open one of the same kind on the same subject)."""
    return open_cases(session, rt, [o])[0]


def open_cases(session: Session, rt: Runtime, openings: list[Opening]) -> list[Case]:
    """Open (or fold) cases in order; new post cases are grouped with their near-duplicates together.

    Grouping them together (one band query, one INSERT) gives the same groups as opening them one by
    one: a later case in the list can join the group of an earlier one.
    """
    out: list[Case] = []
    new: list[tuple[Case, Opening]] = []
    found = uphold.records(session) if openings else {}
    for o in openings:
        case, created = _open_or_fold(session, rt, o, found)
        out.append(case)
        if created:
            new.append((case, o))
    if any(c.id is None for c, _ in new):
        session.flush([c for c, _ in new if c.id is None])  # in opening order, so ids are as one by one
    duplicates.assign_groups(
        session,
        [(c, o.post.text) for c, o in new if o.post is not None and o.kind in ("review", "automation_qa")],
    )
    for case, o in new:
        _opened(session, case, o)
    return out


def _open_or_fold(session: Session, rt: Runtime, o: Opening, found: uphold.Records) -> tuple[Case, bool]:
    subject_type = "post" if o.post is not None else "account"
    fresh = o.new_post and o.post is not None
    folded = (
        existing(session, subject_type, o.post, o.account, o.kind)
        if o.kind not in CHECK_KINDS and not fresh
        else None
    )
    if folded is not None:
        _fold(folded, o)
        refresh_priority(session, rt, folded, records=found)
        route(session, rt, folded)
        return folded, False
    case = Case(
        subject_type=subject_type,
        post=o.post,
        account=o.account,
        post_version=o.post.version if o.post is not None else None,
        kind=o.kind,
        queue="general",
        state="open",
        opened_reason=o.opened_reason,
        reasons=list(o.reasons),
        policy=o.policy,
        proposed_action=o.proposed_action,
        severity=o.severity,
        score=o.score,
        scorer=o.scorer,
        verdict_id=o.verdict_id,
        action_id=o.action_id,
        parent_case_id=o.parent_case_id,
        excluded_reviewers=list(o.excluded),
        opened_at=rt.now(),
        report_reasons=[],
        report_count=0,  # the column defaults, read by the priority below before the case is flushed
        trusted_flagger=False,
    )
    session.add(case)
    if not fresh:  # a new post's cases get their ids together, in one flush (open_cases)
        session.flush([case])
    reach = (0, 0.0) if fresh else _reach(session, case, case.opened_at)
    refresh_priority(session, rt, case, reach, found)
    route(session, rt, case, reach)
    return case, True


def _opened(session: Session, case: Case, o: Opening) -> None:
    subject_type = case.subject_type
    events.record(
        session,
        "case.opened",
        actor=ACTOR,
        subject_type="case",
        subject_id=case.id,
        at=case.opened_at,
        reason=o.opened_reason,
        payload={
            "kind": case.kind,
            "queue": case.queue,
            "subject": o.post.platform_id if o.post is not None else o.account.platform_id,
            "subject_type": subject_type,
            "policy": case.policy,
            "priority": round(case.priority, 4),
            "dup_group": case.dup_group,
        },
    )


def _fold(case: Case, o: Opening) -> None:
    """A later signal on the same subject: keep the strongest policy and score, add the reasons."""
    if o.score > case.score or case.policy is None:
        case.policy, case.score, case.scorer = o.policy or case.policy, o.score, o.scorer or case.scorer
        case.severity, case.proposed_action = o.severity, o.proposed_action or case.proposed_action
    case.reasons = sorted(set(case.reasons) | set(o.reasons))
    case.verdict_id = o.verdict_id or case.verdict_id
    case.revision += 1


def _why(ev: PolicyEvaluation) -> str:
    for reason in ROUTE_REASONS:
        if reason in ev.reasons:
            return {"score>=review_threshold": "uncertain"}.get(reason, reason.split(":")[0])
    return "uncertain"


def from_decision(
    session: Session, rt: Runtime, post: Post, verdict_id: int, decision: Decision, action_id: int | None
) -> list[Case]:
    """Cases a live decision calls for: a review, a proposed account action, or an automation sample."""
    return open_cases(session, rt, openings_for(rt, post, verdict_id, decision, action_id))


def openings_for(
    rt: Runtime,
    post: Post,
    verdict_id: int,
    decision: Decision,
    action_id: int | None,
    new_post: bool = False,
) -> list[Opening]:
    """The cases a live decision calls for, not yet opened.

    `new_post`: the post was created in this transaction (the batch ingest path), so no lookup for an
    open case on it, or for its views, is needed.
    """
    ev = decision.primary
    if ev is None:
        return []

    def opening(
        kind: str, why: str, on_post: bool, proposed: str | None, action: int | None = None
    ) -> Opening:
        return Opening(
            kind,
            why,
            account=post.author,
            post=post if on_post else None,
            reasons=list(ev.reasons),
            policy=ev.area,
            proposed_action=proposed,
            severity=ev.severity,
            score=ev.score,
            scorer=ev.scorer,
            verdict_id=verdict_id,
            action_id=action,
            new_post=new_post,
        )

    wanted = []
    if decision.outcome == "review":
        wanted.append(opening("review", _why(ev), True, ev.proposed_action))
    if "account_action_needs_human" in ev.reasons or (
        decision.outcome == "review" and ev.proposed_action in ("suspend", "ban")
    ):
        wanted.append(opening("account_action", "account_action", False, ev.proposed_action))
    qa = rt.settings.automation_qa_rate
    if decision.outcome == "action" and action_id is not None and sampled(qa, f"qa:{action_id}"):
        wanted.append(opening("automation_qa", "automation_sample", True, ev.action, action_id))
    return wanted
