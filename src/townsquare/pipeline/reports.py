"""User reports (flags): store them and let the report count weigh in on the post's decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from townsquare.content import repository as repo
from townsquare.content.models import Account, Post, Report
from townsquare.content.schemas import ReportCreate
from townsquare.enforcement import service as enforcement
from townsquare.errors import Conflict, Invalid
from townsquare.eventlog import events
from townsquare.pipeline.decide import context, decide_post
from townsquare.pipeline.refresh import refresh_states
from townsquare.pipeline.score import Reach, stored_signals
from townsquare.pipeline.views import decision_view
from townsquare.policy.engine import OUTCOME_RANK, decide
from townsquare.review import reports as review_reports
from townsquare.runtime import Runtime


def _subject(session: Session, data: ReportCreate) -> Post | Account:
    if data.subject_type == "post":
        return repo.post(session, data.subject)
    return repo.account(session, data.subject)


def create_report(session: Session, rt: Runtime, data: ReportCreate, actor: str) -> dict[str, Any]:
    """Store a report; a reported post is decided again with its report count (at most up to review)."""
    if len(data.text) > rt.settings.max_text_chars:
        raise Invalid(f"text is longer than {rt.settings.max_text_chars} characters", {"field": "text"})
    if data.platform_id:
        existing = repo.report_by_pid(session, data.platform_id)
        if existing is not None:
            return _repeat(session, existing, data)
    reporter = None
    if data.reporter:
        reporter = repo.accounts_by_pid(session, [data.reporter]).get(data.reporter)
        if reporter is None:
            raise Invalid(f"unknown reporter {data.reporter}", {"field": "reporter"})
    subject = _subject(session, data)
    now = rt.now()
    report = Report(
        platform_id=data.platform_id,
        reporter_id=reporter.id if reporter else None,
        subject_type=data.subject_type,
        subject_id=subject.id,
        reason=data.reason,
        text=data.text,
        created_at=data.created_at or now,
    )
    session.add(report)
    session.flush([report])
    events.record(
        session,
        "report.received",
        actor=actor,
        subject_type=data.subject_type,
        subject_id=data.subject,
        at=now,
        reason=data.reason,
        payload={"report": report.id, "reporter": data.reporter, "source": data.source},
        personal={"text": data.text} if reporter and data.text else None,
        owner=reporter.id if reporter else None,
    )
    result: dict[str, Any] = {"report_id": report.id, "subject": data.subject, "reason": data.reason}
    if isinstance(subject, Post) and subject.status != "deleted":
        result["decision"] = _redecide(session, rt, subject, data.source)
    if not (isinstance(subject, Post) and subject.status == "deleted"):
        case = review_reports.fold_report(session, rt, report, subject, data.source)
        result["case_id"] = case.id
    return result


def _repeat(session: Session, existing: Report, data: ReportCreate) -> dict[str, Any]:
    """A report sent again (a client retrying): the first result when it is the same report, else 409."""
    subject = repo.subject_of(session, existing.subject_type, existing.subject_id)
    reporter = repo.account_pid(session, existing.reporter_id) if existing.reporter_id else None
    same = (existing.subject_type, subject, existing.reason, existing.text, reporter) == (
        data.subject_type,
        data.subject,
        data.reason,
        data.text,
        data.reporter,
    )
    if not same:
        raise Conflict(
            f"report {data.platform_id} was already received with a different body", {"field": "platform_id"}
        )
    return {"report_id": existing.id, "subject": data.subject, "reason": data.reason, "created": False}


def _redecide(session: Session, rt: Runtime, post: Post, source: str) -> dict[str, Any] | None:
    """Decide the post again with its reports; a new verdict is stored only when the outcome rises."""
    refresh_states(session, rt)
    now = rt.now()
    by_reason = repo.report_counts(session, "post", post.id)
    views, velocity = repo.reach(session, post.id, now)
    current = repo.latest_verdict(session, post.id)
    reach = Reach(
        views=views,
        velocity=velocity,
        reports_by_reason=by_reason,
        source="trusted_flagger" if source == "trusted_flagger" else "notice",
    )
    signals = stored_signals(session, post)
    strikes = enforcement.active_strikes(session, {post.author_id}, now)[post.author_id]
    ctx = context(rt, post.author, post.language, strikes, reach)
    decision = decide(rt.policies, signals, ctx)
    if current is not None and OUTCOME_RANK[decision.outcome] <= OUTCOME_RANK[current.outcome]:
        return decision_view(current, None)
    decided = decide_post(session, rt, post, strikes, reach, trigger="report", signals=signals)
    session.flush()
    return decision_view(*decided)
