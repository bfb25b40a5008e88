"""Civil-rights audit figures: hate-speech enforcement by target group, over-enforcement by identity group
(appeal reversals and QA false positives for posts that mention each group, also in-group speech and
counter-speech), time to action on reports of hate and threats, and reporters told the outcome.

The group of a post comes from the identity-term lexicon the hate scorer uses. Only the posts that were
actioned under the hate and harassment policies, appealed or QA-sampled in the period are read, never the
whole corpus; texts are used in memory and never leave this module (figures are counts and rates).
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from townsquare.appeals.models import Appeal
from townsquare.content.models import Post, Report
from townsquare.detection.lexicon import default_lexicon
from townsquare.enforcement.models import Action
from townsquare.review.models import Case, CaseDecision, ReportOutcome
from townsquare.runtime import Runtime
from townsquare.transparency import repository as repo
from townsquare.transparency.templates_dsa import med

HATE_POLICIES = ("hate_speech", "harassment_threats")
THREAT_REASONS = ("hate_speech", "harassment_threats", "violent_extremism")
# Cues that a post quotes hate to condemn it, or that the author speaks as a member of the group.
_COUNTER = re.compile(
    r"\b(?:called|calling|said|says|quote|quoting|condemn\w*|disgrac\w*|shameful|unacceptable|"
    r"stop saying|not okay|is racist|is bigoted|hate speech|stand with|solidarity)\b",
    re.I,
)
_IN_GROUP = re.compile(r"\b(?:as an?|i am an?|i'm an?|we|us|our|my fellow)\b", re.I)


def speech_kind(text: str) -> list[str]:
    """The subsets a post falls in: 'counter_speech', 'in_group' (heuristic cues, documented)."""
    out = []
    if _COUNTER.search(text):
        out.append("counter_speech")
    if _IN_GROUP.search(text):
        out.append("in_group")
    return out


def _groups(text: str) -> set[str]:
    return {m.category for m in default_lexicon().mentions(text)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(session: Session, rt: Runtime, start: datetime, end: datetime) -> dict[str, Any]:
    """The audit's figures for [start, end)."""
    in_period = and_(Action.created_at >= start, Action.created_at < end)
    enforced: dict[str, int] = defaultdict(int)
    hate = session.execute(
        select(Post.text)
        .join(Action, Action.post_id == Post.id)
        .where(in_period, Action.policy == "hate_speech")
    ).scalars()
    for text in hate:
        target, _ = default_lexicon().target(text)
        enforced[target or "unidentified"] += 1

    over: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    appealed = session.execute(
        select(Post.text, Appeal.outcome)
        .join(Action, Action.id == Appeal.action_id)
        .join(Post, Post.id == Action.post_id)
        .where(Appeal.decided_at >= start, Appeal.decided_at < end, Action.policy.in_(HATE_POLICIES))
    ).all()
    for text, outcome in appealed:
        for group in _groups(text):
            for subset in ("all", *speech_kind(text)):
                over[f"{group}|{subset}"]["appeals_decided"] += 1
                over[f"{group}|{subset}"]["appeals_reversed"] += int(outcome in ("overturned", "modified"))
    sampled = session.execute(
        select(Post.text, CaseDecision.outcome)
        .join(Case, Case.post_id == Post.id)
        .join(CaseDecision, CaseDecision.case_id == Case.id)
        .where(
            Case.kind == "automation_qa",
            Case.policy.in_(HATE_POLICIES),
            CaseDecision.decided_at >= start,
            CaseDecision.decided_at < end,
        )
    ).all()
    for text, outcome in sampled:
        for group in _groups(text):
            for subset in ("all", *speech_kind(text)):
                over[f"{group}|{subset}"]["qa_sampled"] += 1
                over[f"{group}|{subset}"]["qa_false_positive"] += int(outcome == "no_violation")
    by_group: dict[str, dict[str, Any]] = {}
    for key, t in sorted(over.items()):
        group, subset = key.split("|")
        by_group.setdefault(group, {})[subset] = {
            **t,
            "appeal_reversal_rate": _rate(t.get("appeals_reversed", 0), t.get("appeals_decided", 0)),
            "qa_false_positive_rate": _rate(t.get("qa_false_positive", 0), t.get("qa_sampled", 0)),
        }
    times = session.execute(
        select(Report.reason, repo.hours(session, Report.created_at, ReportOutcome.decided_at))
        .join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(
            Report.created_at >= start,
            Report.created_at < end,
            Report.reason.in_(THREAT_REASONS),
            ReportOutcome.outcome == "upheld",
        )
    ).all()
    per_reason: dict[str, list[float]] = defaultdict(list)
    for reason, h in times:
        if h is not None:
            per_reason[reason].append(float(h))
    decided, told = repo.reporters_told(session, start, end)
    return {
        "hate_enforcement_by_target_group": dict(sorted(enforced.items())),
        "over_enforcement_by_identity_group": by_group,
        "median_hours_to_action_on_reports": {
            "all_hate_and_threats": med([h for v in per_reason.values() for h in v]),
            **{r: med(per_reason.get(r, [])) for r in THREAT_REASONS},
        },
        "reporters_told_outcome": {"decided": decided, "told": told, "share": _rate(told, decided)},
        "method": "Groups come from the identity-term lexicon of the hate scorer; 'counter_speech' and "
        "'in_group' are posts with quoting/condemning or first-person cues. Rates are over the period's "
        "decided appeals and QA decisions on hate and harassment measures.",
    }
