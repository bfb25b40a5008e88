"""Platform health: daily trends over a chosen range, from the same projections as the report.

Per day: prevalence per policy (labelled prevalence samples), the share of sampled violating views on
posts since actioned (views whose source is now removed, reduced or labelled: prevented from here on),
the automated share of measures, the appeal reversal rate, the review backlog at the end of the day,
the median hours from a report to its decision, and reports by outcome.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from townsquare.appeals.models import Appeal
from townsquare.content.models import Post, Report
from townsquare.enforcement.models import Action
from townsquare.errors import Invalid
from townsquare.review.models import Case, ReportOutcome
from townsquare.transparency import prevalence
from townsquare.transparency import repository as repo
from townsquare.transparency.models import PrevalenceSample
from townsquare.transparency.templates_dsa import med

MAX_DAYS = 92
ACTIONED = ("removed", "reduced", "labelled", "demonetised")


def parse_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """[first, last] from YYYY-MM-DD (default: the 30 days to yesterday); 422 naming the field."""
    days = []
    defaults = (today - timedelta(days=30), today - timedelta(days=1))
    for name, raw, default in (("from", first, defaults[0]), ("to", last, defaults[1])):
        if raw is None or raw == "":
            days.append(default)
            continue
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            raise Invalid(f"{name} is not a date (YYYY-MM-DD)", {"field": name}) from None
    if days[0] > days[1]:
        raise Invalid("from is after to: the range is inverted", {"field": "from"})
    if days[1] >= today:
        raise Invalid("to must be a day that has ended (before today, UTC)", {"field": "to"})
    if (days[1] - days[0]).days + 1 > MAX_DAYS:
        raise Invalid(f"a range covers at most {MAX_DAYS} days", {"field": "from"})
    return days[0], days[1]


def _day(session: Session, column: Any) -> Any:
    return (
        func.date(column) if session.get_bind().dialect.name == "sqlite" else cast(func.date(column), String)
    )


def trends(session: Session, first: date, last: date) -> dict[str, Any]:
    """Every series, one value per day (None where there is nothing to measure)."""
    start = datetime.combine(first, time(0), tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    series: dict[str, dict[str, Any]] = defaultdict(dict)
    d = _day(session, Action.created_at)
    for day, automated, n in session.execute(
        select(d, Action.automated, func.count()).where(Action.created_at >= start, Action.created_at < end)
        .group_by(d, Action.automated)
    ):  # fmt: skip
        series["measures"].setdefault(str(day), [0, 0])[0 if automated else 1] += int(n)
    d = _day(session, Appeal.decided_at)
    reversed_ = case((Appeal.outcome.in_(("overturned", "modified")), 1), else_=0)
    for day, total, rev in session.execute(
        select(d, func.count(), func.sum(reversed_))
        .where(Appeal.decided_at >= start, Appeal.decided_at < end).group_by(d)
    ):  # fmt: skip
        series["appeals"][str(day)] = (int(total), int(rev or 0))
    d = _day(session, Report.created_at)
    outcome = func.coalesce(ReportOutcome.outcome, "pending")
    for day, result, n in session.execute(
        select(d, outcome, func.count()).outerjoin(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(Report.created_at >= start, Report.created_at < end).group_by(d, outcome)
    ):  # fmt: skip
        series["reports"].setdefault(str(day), {})[str(result)] = int(n)
    hours = repo.hours(session, Report.created_at, ReportOutcome.decided_at)
    for day, h in session.execute(
        select(d, hours).join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(Report.created_at >= start, Report.created_at < end, ReportOutcome.decided_at.is_not(None))
    ):  # fmt: skip
        series["hours"].setdefault(str(day), []).append(float(h))
    for i, day in enumerate(days):
        cut = datetime.combine(first + timedelta(days=i + 1), time(0), tzinfo=UTC)
        series["backlog"][day] = int(session.scalar(
            select(func.count()).select_from(Case).where(
                Case.opened_at < cut, or_(Case.decided_at.is_(None), Case.decided_at >= cut)
            )
        ) or 0)  # fmt: skip
    actioned = case((Post.status.in_(ACTIONED), 1), else_=0)
    for day, n, prevented in session.execute(
        select(PrevalenceSample.day, func.count(), func.sum(actioned))
        .join(Post, Post.id == PrevalenceSample.post_id)
        .where(and_(PrevalenceSample.day >= first, PrevalenceSample.day <= last),
               PrevalenceSample.label.is_not(None), PrevalenceSample.label != prevalence.NONE)
        .group_by(PrevalenceSample.day)
    ):  # fmt: skip
        series["prevented"][str(day)] = round(int(prevented or 0) / int(n), 4) if n else None
    prev = prevalence.estimates(session, first, last)
    out: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat(), "days": []}
    for day in days:
        m, a = series["measures"].get(day, [0, 0]), series["appeals"].get(day, (0, 0))
        out["days"].append({
            "day": day,
            "measures": sum(m), "automated_share": round(m[0] / sum(m), 4) if sum(m) else None,
            "appeals_decided": a[0], "appeal_reversal_rate": round(a[1] / a[0], 4) if a[0] else None,
            "backlog": series["backlog"][day], "median_hours_to_decision": med(series["hours"].get(day, [])),
            "reports": series["reports"].get(day, {}),
            "prevalence_per_10k": prev["daily"].get(day, {}),
            "violating_views_prevented_share": series["prevented"].get(day),
        })  # fmt: skip
    out["prevalence"] = prev["policies"]
    out["prevalence_method"] = prev["method"]
    return out
