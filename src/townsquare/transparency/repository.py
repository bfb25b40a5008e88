"""Every query of the transparency report: set-based aggregates over the projections, grouped in SQL.

Each function returns a few rows per group (policy, reason, action type ...), never one row per post, so
a report over millions of posts costs a handful of indexed scans. Medians are computed from a single
column of durations per group (the database gives the numbers, NumPy the median).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from townsquare.access.models import RoleGrant, StaffUser
from townsquare.appeals.models import Appeal
from townsquare.content.models import Report
from townsquare.enforcement.models import Action
from townsquare.review.models import Case, CaseDecision, Notification, ReportOutcome
from townsquare.transparency.models import (
    AuthorityOrder,
    ModeratorLanguage,
    PublishedReport,
    RecipientCount,
)


def hours(session: Session, start: Any, end: Any) -> ColumnElement[float]:
    """end - start in hours, on SQLite (julianday) or PostgreSQL (epoch)."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0  # type: ignore[return-value]


def _in(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def notices(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """User reports received in [start, end) by reason and source, with items and actions taken."""
    source = func.coalesce(ReportOutcome.source, literal("user")).label("source")
    upheld = ReportOutcome.outcome == "upheld"
    rows = session.execute(
        select(
            Report.reason,
            source,
            func.count(Report.id),
            func.count(
                func.distinct(Report.subject_type + literal(":") + func.cast(Report.subject_id, String))
            ),
            func.sum(case((upheld, 1), else_=0)),
            func.sum(case((ReportOutcome.outcome.is_(None), 1), else_=0)),
        )
        .outerjoin(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(_in(Report.created_at, start, end))
        .group_by(Report.reason, source)
    ).all()
    return [
        {"reason": r, "source": s, "notices": int(n), "items": int(i), "actioned": int(a or 0),
         "open": int(o or 0)}
        for r, s, n, i, a, o in rows
    ]  # fmt: skip


def notice_items_total(session: Session, start: datetime, end: datetime, trusted: bool) -> int:
    """Distinct items (posts or accounts) named by the period's notices (optionally trusted flaggers')."""
    key = Report.subject_type + literal(":") + func.cast(Report.subject_id, String)
    query = (
        select(func.count(func.distinct(key)))
        .outerjoin(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(_in(Report.created_at, start, end))
    )
    if trusted:
        query = query.where(ReportOutcome.source == "trusted_flagger")
    return int(session.scalar(query) or 0)


def notice_action_hours(session: Session, start: datetime, end: datetime) -> list[tuple[str, str, float]]:
    """(reason, source, hours from notice to action) for each notice of the period acted upon."""
    rows = session.execute(
        select(
            Report.reason, ReportOutcome.source, hours(session, Report.created_at, ReportOutcome.decided_at)
        )
        .join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(_in(Report.created_at, start, end), ReportOutcome.outcome == "upheld")
    ).all()
    return [(r, s, float(h)) for r, s, h in rows if h is not None]


def measures(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Actions applied in [start, end) by policy, rung, source and automation (decision and detection)."""
    detected = Action.statement["automated_detection"].as_string()
    rows = session.execute(
        select(Action.policy, Action.action_type, Action.source, Action.automated, detected, func.count())
        .where(_in(Action.created_at, start, end))
        .group_by(Action.policy, Action.action_type, Action.source, Action.automated, detected)
    ).all()
    return [
        {"policy": p, "action": a, "source": s, "automated": bool(au), "detected": d == "Yes", "n": int(n)}
        for p, a, s, au, d, n in rows
    ]


def appeals(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Complaints received in [start, end): kind, appealed rung, reporter source, outcome, decided in time."""
    decided_in = and_(Appeal.decided_at.is_not(None), Appeal.decided_at < end)
    rows = session.execute(
        select(
            Appeal.kind,
            Action.action_type,
            ReportOutcome.source,
            case((decided_in, Appeal.outcome), else_=None),
            Appeal.original_source,
            func.count(),
        )
        .outerjoin(Action, Action.id == Appeal.action_id)
        .outerjoin(ReportOutcome, ReportOutcome.report_id == Appeal.report_id)
        .where(_in(Appeal.created_at, start, end))
        .group_by(
            Appeal.kind,
            Action.action_type,
            ReportOutcome.source,
            case((decided_in, Appeal.outcome), else_=None),
            Appeal.original_source,
        )  # fmt: skip
    ).all()
    return [
        {"kind": k, "action": a, "source": s or "user", "outcome": o, "original": orig, "n": int(n)}
        for k, a, s, o, orig, n in rows
    ]


def appeal_hours(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, str | None, str, float]]:
    """(kind, appealed rung, reporter source, hours to decide) for complaints of the period decided in it."""
    rows = session.execute(
        select(
            Appeal.kind,
            Action.action_type,
            ReportOutcome.source,
            hours(session, Appeal.created_at, Appeal.decided_at),
        )
        .outerjoin(Action, Action.id == Appeal.action_id)
        .outerjoin(ReportOutcome, ReportOutcome.report_id == Appeal.report_id)
        .where(_in(Appeal.created_at, start, end), Appeal.decided_at.is_not(None), Appeal.decided_at < end)
    ).all()
    return [(k, a, s or "user", float(h)) for k, a, s, h in rows if h is not None]


def qa_outcomes(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Human decisions of the period on automation-QA samples (automation acted) and on review cases
    (automation sent the post to people without acting), by the acting action's source."""
    rows = session.execute(
        select(Case.kind, CaseDecision.outcome, Action.source, func.count())
        .join(CaseDecision, CaseDecision.case_id == Case.id)
        .outerjoin(Action, Action.id == Case.action_id)
        .where(_in(CaseDecision.decided_at, start, end), Case.kind.in_(("automation_qa", "review")))
        .group_by(Case.kind, CaseDecision.outcome, Action.source)
    ).all()
    return [{"kind": k, "outcome": o, "source": s, "n": int(n)} for k, o, s, n in rows]


def orders(session: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Orders received in [start, end), one row per order (orders are few), with their durations."""
    rows = session.execute(
        select(
            AuthorityOrder.order_type,
            AuthorityOrder.member_state,
            AuthorityOrder.category,
            AuthorityOrder.keywords,
            AuthorityOrder.items,
            hours(session, AuthorityOrder.received_at, AuthorityOrder.acknowledged_at),
            hours(session, AuthorityOrder.received_at, AuthorityOrder.effected_at),
        ).where(_in(AuthorityOrder.received_at, start, end))
    ).all()

    def h(x: Any) -> float | None:
        return None if x is None else max(float(x), 0.0)

    return [
        {"type": t, "state": ms, "category": c, "keywords": list(k or []), "items": int(i), "ack_h": h(a),
         "effect_h": h(e)}
        for t, ms, c, k, i, a, e in rows
    ]  # fmt: skip


def moderators(session: Session, roles: list[str], now: datetime) -> tuple[int, int, list[tuple[str, int]]]:
    """Active people holding a deciding role now, and how many of them review in each language."""
    holders = (
        select(RoleGrant.user_id)
        .join(StaffUser, StaffUser.id == RoleGrant.user_id)
        .where(
            RoleGrant.role.in_(roles),
            RoleGrant.revoked_at.is_(None),
            or_(RoleGrant.expires_at.is_(None), RoleGrant.expires_at > now),
            RoleGrant.break_glass.is_(False),
            StaffUser.kind == "person",
            StaffUser.status == "active",
        )
        .distinct()
    ).subquery()
    total = int(session.scalar(select(func.count()).select_from(holders)) or 0)
    langs = session.execute(
        select(ModeratorLanguage.language, func.count(func.distinct(ModeratorLanguage.user_id)))
        .where(ModeratorLanguage.user_id.in_(select(holders.c.user_id)))
        .group_by(ModeratorLanguage.language)
    ).all()
    with_lang = session.scalar(
        select(func.count(func.distinct(ModeratorLanguage.user_id))).where(
            ModeratorLanguage.user_id.in_(select(holders.c.user_id))
        )
    )
    return total, int(with_lang or 0), [(str(lang), int(n)) for lang, n in langs]


def recipients(session: Session, first_month: Any, last_month: Any) -> list[tuple[str, float, int]]:
    """(scope, average monthly recipients, months posted) over the months of the period."""
    rows = session.execute(
        select(RecipientCount.scope, func.avg(RecipientCount.recipients), func.count())
        .where(RecipientCount.month >= first_month, RecipientCount.month <= last_month)
        .group_by(RecipientCount.scope)
    ).all()
    return [(str(s), float(a), int(n)) for s, a, n in rows]


def previous_publication(session: Session, before: Any) -> Any:
    """When the latest report published before `before` came out (None if none)."""
    return session.scalar(
        select(func.max(PublishedReport.published_at)).where(
            PublishedReport.state == "published", PublishedReport.published_at < before
        )
    )


def reporters_told(session: Session, start: datetime, end: datetime) -> tuple[int, int]:
    """(notices of the period decided, of which the reporter was sent the outcome)."""
    decided = int(
        session.scalar(
            select(func.count())
            .select_from(ReportOutcome)
            .join(Report, Report.id == ReportOutcome.report_id)
            .where(_in(Report.created_at, start, end), ReportOutcome.outcome.is_not(None))
        )
        or 0
    )
    told = int(
        session.scalar(
            select(func.count(func.distinct(Notification.id))).where(
                Notification.kind == "report_outcome", _in(Notification.created_at, start, end)
            )
        )
        or 0
    )
    return decided, min(told, decided)
