"""Checking people and automation.

* A share of human decisions (`TOWNSQUARE_SECOND_REVIEW_RATE`, 5%) opens a second, independent review
  (the first reviewer is excluded); when the two disagree (outcome, or the policy of a violation) the
  case goes to senior review, and the senior decision says which one stood (the other is overturned).
* A share of automated actions (`TOWNSQUARE_AUTOMATION_QA_RATE`, 2%) is sampled for human QA (see
  `intake.from_decision`). Each QA decision is a precision sample for the (policy, scorer) that acted.
  When a pair has at least `TOWNSQUARE_QA_MIN_SAMPLES` samples and its precision falls below
  `TOWNSQUARE_QA_PRECISION_TARGET`, automated action for that policy pauses itself (decisions fall back
  to review) and auditors and senior moderators are alerted. A person can pause any automation at once
  (the kill switch) and lift a pause. Pauses and lifts are events.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.alerts import raise_alert
from townsquare.access.models import StaffUser
from townsquare.access.service import Principal
from townsquare.detection.training.metrics import wilson_interval
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.review.intake import Opening, open_case, sampled
from townsquare.review.models import AutomationPause, Case, CaseDecision
from townsquare.review.pauses import active_pauses
from townsquare.runtime import Runtime

SYSTEM = "service:automation-qa"


def _label(outcome: str, policy: str | None) -> str:
    return policy if outcome == "violation" and policy else "no_violation"


def after_decision(
    session: Session, rt: Runtime, who: Principal, case: Case, row: CaseDecision
) -> dict[str, Any]:
    """Follow-ups of a decision: a second review, a disagreement escalation, an automation pause."""
    out: dict[str, Any] = {}
    if case.kind in ("review", "account_action") and sampled(
        rt.settings.second_review_rate, f"second:{case.id}"
    ):
        second = open_case(
            session,
            rt,
            Opening(
                "second_review",
                "second_review_sample",
                account=case.account,
                post=case.post,
                policy=case.policy,
                severity=case.severity,
                score=case.score,
                scorer=case.scorer,
                parent_case_id=case.id,
                excluded=[row.reviewer_id],
            ),
        )
        out["second_review_case"] = second.id
    if case.kind == "second_review" and case.parent_case_id is not None:
        first = _last_decision(session, case.parent_case_id)
        if first is not None and _label(first.outcome, first.policy) != _label(row.outcome, row.policy):
            senior = open_case(
                session,
                rt,
                Opening(
                    "escalation",
                    "reviewers_disagree",
                    account=case.account,
                    post=case.post,
                    policy=row.policy or first.policy,
                    severity=case.severity,
                    parent_case_id=case.id,
                    excluded=[first.reviewer_id, row.reviewer_id],
                ),
            )
            out["disagreement_case"] = senior.id
    if case.kind == "automation_qa":
        paused = check_precision(session, rt, case.policy, case.scorer)
        if paused is not None:
            out["automation_paused"] = paused.policy
    return out


def _last_decision(session: Session, case_id: int) -> CaseDecision | None:
    return session.scalars(
        select(CaseDecision).where(CaseDecision.case_id == case_id).order_by(CaseDecision.id.desc()).limit(1)
    ).first()


# --- automation precision and pauses ------------------------------------------------------------------


def precision_table(session: Session, rt: Runtime) -> list[dict[str, Any]]:
    """Live precision of automated actions per (policy, scorer), from QA decisions, with a Wilson 95% CI."""
    rows = session.execute(
        select(Case.policy, Case.scorer, CaseDecision.outcome, CaseDecision.policy)
        .join(CaseDecision, CaseDecision.case_id == Case.id)
        .where(Case.kind == "automation_qa")
    ).all()
    tally: dict[tuple[str | None, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for policy, scorer, outcome, decided_policy in rows:
        t = tally[(policy, scorer)]
        t[0] += int(outcome == "violation" and decided_policy == policy)
        t[1] += 1
    out = []
    for (policy, scorer), (right, n) in sorted(tally.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        lo, hi = wilson_interval(right, n)
        out.append(
            {
                "policy": policy,
                "scorer": scorer,
                "samples": n,
                "correct": right,
                "precision": round(right / n, 4),
                "ci95": [round(lo, 4), round(hi, 4)],
                "target": rt.settings.qa_precision_target,
                "below_target": n >= rt.settings.qa_min_samples
                and right / n < rt.settings.qa_precision_target,
            }
        )
    return out


def check_precision(
    session: Session, rt: Runtime, policy: str | None, scorer: str | None
) -> AutomationPause | None:
    """Pause a policy's automation when its QA precision has fallen below the target."""
    if policy is None:
        return None
    session.flush()
    row = next(
        (r for r in precision_table(session, rt) if r["policy"] == policy and r["scorer"] == scorer), None
    )
    if row is None or not row["below_target"] or policy in active_pauses(session):
        return None
    reason = (
        f"automation QA precision for {policy} ({scorer}) is {row['precision']:.2f} over "
        f"{row['samples']} samples (95% CI {row['ci95'][0]:.2f}-{row['ci95'][1]:.2f}), "
        f"below the target {row['target']:.2f}"
    )
    return pause(session, rt, SYSTEM, "policy", policy, reason, automatic=True)


def pause(
    session: Session,
    rt: Runtime,
    actor: str,
    scope: str,
    policy: str | None,
    reason: str,
    *,
    automatic: bool = False,
) -> AutomationPause:
    """Pause automated action for one policy or for all (effective for the next decision)."""
    if scope not in ("all", "policy"):
        raise Invalid("scope must be all or policy", {"field": "scope"})
    if scope == "policy" and policy not in rt.policies.areas():
        raise Invalid(f"unknown policy {policy!r}", {"field": "policy"})
    if not reason.strip():
        raise Invalid("a pause needs a reason", {"field": "reason"})
    key = "*" if scope == "all" else str(policy)
    if key in active_pauses(session):
        raise Conflict(f"automation for {key} is already paused", {"field": "policy"})
    now = rt.now()
    row = AutomationPause(
        scope=scope,
        policy=policy if scope == "policy" else None,
        reason=reason,
        automatic=automatic,
        paused_by=actor,
        paused_at=now,
    )
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "automation.paused",
        actor=actor,
        subject_type="automation",
        subject_id=key,
        at=now,
        reason=reason,
        payload={"pause_id": row.id, "scope": scope, "policy": row.policy, "automatic": automatic},
    )
    for role in ("auditor", "senior_moderator"):
        raise_alert(
            session,
            "automation_paused",
            f"automated action paused for {key}: {reason}",
            actor=actor,
            now=now,
            subject=f"automation:{key}",
            details={"pause_id": row.id, "automatic": automatic},
            recipient_role=role,
        )
    return row


def lift(session: Session, rt: Runtime, who: Principal, pause_id: int, reason: str) -> AutomationPause:
    """Lift a pause."""
    row = session.get(AutomationPause, pause_id)
    if row is None:
        raise NotFound(f"no pause {pause_id}", {"field": "pause_id"})
    if row.lifted_at is not None:
        raise Conflict(f"pause {pause_id} was already lifted", {"field": "pause_id"})
    if not reason.strip():
        raise Invalid("lifting a pause needs a reason", {"field": "reason"})
    row.lifted_at, row.lifted_by = rt.now(), who.actor
    events.record(
        session,
        "automation.resumed",
        actor=who.actor,
        subject_type="automation",
        subject_id="*" if row.scope == "all" else str(row.policy),
        at=rt.now(),
        reason=reason,
        payload={"pause_id": row.id},
    )
    return row


# --- agreement between people ---------------------------------------------------------------------------


def cohen_kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's kappa of paired labels (None with fewer than two pairs or no variation at all)."""
    if len(pairs) < 2:
        return None
    labels = sorted({x for p in pairs for x in p})
    index = {lab: i for i, lab in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)))
    for a, b in pairs:
        m[index[a], index[b]] += 1
    n = m.sum()
    observed = np.trace(m) / n
    expected = float((m.sum(0) * m.sum(1)).sum()) / (n * n)
    if expected >= 1.0:
        return None
    return round(float((observed - expected) / (1 - expected)), 4)


def agreement(session: Session) -> dict[str, Any]:
    """Per reviewer and per policy: Cohen's kappa over second reviews, and overturn rates."""
    seconds = session.execute(
        select(Case.parent_case_id, CaseDecision)
        .join(CaseDecision, CaseDecision.case_id == Case.id)
        .where(Case.kind == "second_review")
    ).all()
    names: dict[int, str] = {
        uid: name for uid, name in session.execute(select(StaffUser.id, StaffUser.username))
    }
    by_reviewer: dict[int, list[tuple[str, str]]] = defaultdict(list)
    by_policy: dict[str, list[tuple[str, str]]] = defaultdict(list)
    overturned: dict[int, int] = defaultdict(int)
    for parent_id, second in seconds:
        first = _last_decision(session, parent_id) if parent_id else None
        if first is None:
            continue
        pair = (_label(first.outcome, first.policy), _label(second.outcome, second.policy))
        by_reviewer[first.reviewer_id].append(pair)
        by_reviewer[second.reviewer_id].append(pair)
        for policy in {first.policy, second.policy} - {None}:
            by_policy[str(policy)].append(
                (
                    str(first.policy == policy and first.outcome == "violation"),
                    str(second.policy == policy and second.outcome == "violation"),
                )
            )
        senior = session.scalars(
            select(Case).where(
                Case.kind == "escalation",
                Case.parent_case_id.in_(
                    select(Case.id).where(Case.parent_case_id == parent_id, Case.kind == "second_review")
                ),
            )
        ).first()
        final = _last_decision(session, senior.id) if senior is not None else None
        if final is not None:
            for d in (first, second):
                if _label(d.outcome, d.policy) != _label(final.outcome, final.policy):
                    overturned[d.reviewer_id] += 1
    counts: dict[int, int] = defaultdict(int)
    for rid in session.scalars(select(CaseDecision.reviewer_id)):
        counts[rid] += 1
    reviewers = [
        {
            "reviewer": names.get(rid, str(rid)),
            "decisions": counts[rid],
            "second_reviews_compared": len(pairs),
            "kappa": cohen_kappa(pairs),
            "overturned": overturned[rid],
            "overturn_rate": round(overturned[rid] / counts[rid], 4) if counts[rid] else None,
        }
        for rid, pairs in sorted(by_reviewer.items())
    ]
    policies = [{"policy": p, "pairs": len(v), "kappa": cohen_kappa(v)} for p, v in sorted(by_policy.items())]
    return {"reviewers": reviewers, "policies": policies}
