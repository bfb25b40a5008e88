"""Reports into cases: fold every report of a subject into its one open case, weigh trusted flaggers,
flag coordinated bursts (possible brigading), keep each reporter's track record, tell reporters the outcome.

Brigading rule (documented in docs/review.md): a **burst** is at least 5 reports of the case within one
hour. A burst reporter is **suspicious** when their account is under 7 days old at the time of the
report, or their report text is near-identical (word Jaccard ≥ 0.8) to another burst report's, or they
reported at least 2 other subjects in the past 7 days together with another burst reporter (linked).
When at least half of a burst's reporters are suspicious, the case is flagged as possible brigading and
the suspicious reports do not count as independent (they still show, with the reasons). Trusted
flaggers' reports are never suspicious and count three times in the priority.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post, Report
from townsquare.detection.features import model_text
from townsquare.detection.normalize import tokens
from townsquare.eventlog import events
from townsquare.review.intake import ACTOR, Opening, existing, open_case, refresh_priority, route
from townsquare.review.models import Case, ReportOutcome
from townsquare.runtime import Runtime


def notify(*args: Any, **kwargs: Any) -> Any:
    """Record a notice (imported late: townsquare.notify depends on this package's models)."""
    from townsquare.notify import notify as _notify

    return _notify(*args, **kwargs)


BURST_WINDOW = timedelta(hours=1)
BURST_MIN = 5
NEW_ACCOUNT = timedelta(days=7)
NEAR_IDENTICAL = 0.8
LINK_WINDOW = timedelta(days=7)
LINK_MIN = 2


def fold_report(session: Session, rt: Runtime, report: Report, subject: Post | Account, source: str) -> Case:
    """Fold a report into its subject's open review case (opening one if there is none)."""
    post = subject if isinstance(subject, Post) else None
    account = post.author if post is not None else subject
    assert isinstance(account, Account)
    case = existing(session, "post" if post else "account", post, account, "review")
    if case is None:
        policy = report.reason if report.reason in rt.policies.areas() else None
        spec = rt.policies.live(policy) if policy else None
        case = open_case(
            session,
            rt,
            Opening(
                "review",
                "report",
                account=account,
                post=post,
                policy=policy,
                severity=spec.policy.severity if spec else "medium",
                reasons=["report"],
            ),
        )
    session.add(
        ReportOutcome(report_id=report.id, case_id=case.id, reporter_id=report.reporter_id, source=source)
    )
    case.report_count += 1
    case.report_reasons = sorted(set(case.report_reasons) | {report.reason})
    case.trusted_flagger = case.trusted_flagger or source == "trusted_flagger"
    case.revision += 1
    session.flush()
    assess_brigading(session, rt, case)
    refresh_priority(session, rt, case)
    route(session, rt, case)
    events.record(
        session,
        "case.report_folded",
        actor=ACTOR,
        subject_type="case",
        subject_id=case.id,
        at=rt.now(),
        reason=report.reason,
        payload={
            "report": report.id,
            "source": source,
            "report_count": case.report_count,
            "brigading": bool((case.brigading or {}).get("suspected")),
            "queue": case.queue,
        },
    )
    return case


def _words(text: str) -> set[str]:
    return set(tokens(model_text(text)))


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if len(wa) < 3 or len(wb) < 3:
        return False
    return len(wa & wb) / len(wa | wb) >= NEAR_IDENTICAL


def _linked(session: Session, reporters: set[int], exclude: tuple[str, int], since: Any) -> set[int]:
    """Reporters who reported at least LINK_MIN other subjects together with another of them."""
    if len(reporters) < 2:
        return set()
    rows = session.execute(
        select(Report.reporter_id, Report.subject_type, Report.subject_id).where(
            Report.reporter_id.in_(reporters), Report.created_at >= since
        )
    ).all()
    subjects: dict[int, set[tuple[str, int]]] = {}
    for rid, st, sid in rows:
        if (st, sid) != exclude and rid is not None:
            subjects.setdefault(rid, set()).add((st, sid))
    out: set[int] = set()
    ids = sorted(subjects)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if len(subjects[a] & subjects[b]) >= LINK_MIN:
                out |= {a, b}
    return out


def assess_brigading(session: Session, rt: Runtime, case: Case) -> None:
    """Apply the brigading rule to the case's reports (see the module docstring)."""
    rows = session.execute(
        select(Report, ReportOutcome, Account)
        .join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .outerjoin(Account, Account.id == Report.reporter_id)
        .where(ReportOutcome.case_id == case.id)
        .order_by(Report.created_at)
    ).all()
    trusted = sum(1 for _, o, _ in rows if o.source == "trusted_flagger")
    latest = max((r.created_at for r, _, _ in rows), default=rt.now())
    burst = [
        (r, o, a)
        for r, o, a in rows
        if r.created_at >= latest - BURST_WINDOW and o.source != "trusted_flagger"
    ]
    why: Counter[str] = Counter()
    suspicious: set[int] = set()
    if len(burst) >= BURST_MIN:
        ids = {a.id for _, _, a in burst if a is not None}
        linked = _linked(
            session, ids, (case.subject_type, case.post_id or case.account_id), latest - LINK_WINDOW
        )
        for r, o, a in burst:
            reasons = []
            if a is not None and r.created_at - a.created_at < NEW_ACCOUNT:
                reasons.append("new_account")
            if r.text and any(
                _similar(r.text, other.text) for other, _, _ in burst if other.id != r.id and other.text
            ):
                reasons.append("near_identical_text")
            if a is not None and a.id in linked:
                reasons.append("linked_reporters")
            if reasons:
                suspicious.add(o.id)
                why.update(reasons)
    flagged = len(burst) >= BURST_MIN and len(suspicious) * 2 >= len(burst)
    for _, o, _ in rows:
        o.suspicious = flagged and o.id in suspicious
    independent = len(rows) - trusted - (len(suspicious) if flagged else 0)
    case.brigading = {
        "suspected": flagged,
        "burst": len(burst),
        "suspicious": len(suspicious),
        "why": dict(why),
        "independent": max(independent, 0),
        "trusted": trusted,
    }


def track_record(session: Session, reporter_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Per reporter: reports decided, upheld, and the share upheld."""
    if not reporter_ids:
        return {}
    rows = session.execute(
        select(ReportOutcome.reporter_id, ReportOutcome.outcome, func.count())
        .where(ReportOutcome.reporter_id.in_(reporter_ids), ReportOutcome.outcome.is_not(None))
        .group_by(ReportOutcome.reporter_id, ReportOutcome.outcome)
    ).all()
    out: dict[int, dict[str, Any]] = {rid: {"decided": 0, "upheld": 0} for rid in reporter_ids}
    for rid, outcome, n in rows:
        out[rid]["decided"] += int(n)
        if outcome == "upheld":
            out[rid]["upheld"] += int(n)
    for rec in out.values():
        rec["upheld_share"] = round(rec["upheld"] / rec["decided"], 3) if rec["decided"] else None
    return out


def settle_reports(session: Session, rt: Runtime, case: Case, upheld: bool, summary: dict[str, Any]) -> int:
    """Mark the case's reports upheld or rejected and notify each reporter; returns how many were told."""
    now = rt.now()
    told = 0
    outcomes = session.scalars(
        select(ReportOutcome).where(ReportOutcome.case_id == case.id, ReportOutcome.outcome.is_(None))
    ).all()
    for o in outcomes:
        o.outcome, o.decided_at = ("upheld" if upheld else "rejected"), now
        if o.reporter_id is None:
            continue
        body = {"report_id": o.report_id, "outcome": "action_taken" if upheld else "no_violation", **summary}
        if not upheld:
            body["next_steps"] = "you may appeal this decision for six months"
        notify(session, rt, o.reporter_id, "report_outcome", case.subject_type, summary["subject"], body)
        told += 1
    return told
