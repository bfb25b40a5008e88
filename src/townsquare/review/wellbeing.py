"""Protecting the people who review: what to blur (by policy severity), grayscale, break reminders.

Each policy area has a harm level: its severity in the live policy, raised to "high" for areas whose
material can be graphic (threats, self-harm, extremism, child safety). A reviewer blurs text from a
level upward (default "high"), may add grayscale, and is reminded to take a break after a run of
severe cases (default 8 in a row; a gap of `BREAK_GAP` or a non-severe case ends the run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.service import Principal
from townsquare.review.models import Case, CaseDecision, ReviewerPrefs
from townsquare.runtime import Runtime

LEVELS = ("low", "medium", "high", "critical")
BLUR_CHOICES = ("low", "medium", "high", "critical", "off")
GRAPHIC = frozenset({"violent_extremism", "child_safety", "self_harm", "harassment_threats"})
SEVERE = frozenset({"high", "critical"})
BREAK_GAP = timedelta(minutes=15)
RUN_WINDOW = 200


class PrefsIn(BaseModel):
    """A reviewer's wellbeing settings, as the settings form sends them."""

    model_config = ConfigDict(extra="forbid")

    blur_from: str = Field(pattern="^(low|medium|high|critical|off)$")
    grayscale: bool = False
    break_after: int = Field(ge=0, le=100)


@dataclass(frozen=True)
class Prefs:
    """The settings in force for one reviewer."""

    blur_from: str = "high"
    grayscale: bool = False
    break_after: int = 8

    def blurs(self, level: str | None) -> bool:
        """Whether text of this harm level is blurred for this reviewer."""
        if self.blur_from == "off" or level is None:
            return False
        return LEVELS.index(level) >= LEVELS.index(self.blur_from)


def harm_level(rt: Runtime, area: str | None) -> str | None:
    """The harm level of a policy area (None when there is no area)."""
    if not area:
        return None
    spec = rt.policies.live(area)
    level = str(spec.policy.severity) if spec is not None else "medium"
    if area in GRAPHIC and LEVELS.index(level) < LEVELS.index("high"):
        level = "high"
    return level if level in LEVELS else "medium"


def harm_levels(rt: Runtime) -> dict[str, str]:
    """Every area's harm level."""
    return {a: harm_level(rt, a) or "medium" for a in rt.policies.areas()}


def prefs(session: Session, who: Principal) -> Prefs:
    """The caller's settings (the defaults for API tokens and people who never changed them)."""
    row = session.get(ReviewerPrefs, who.user_id) if who.user_id is not None else None
    if row is None:
        return Prefs()
    return Prefs(row.blur_from, row.grayscale, row.break_after)


def save(session: Session, rt: Runtime, who: Principal, data: PrefsIn) -> Prefs:
    """Store the caller's settings."""
    assert who.user_id is not None
    row = session.get(ReviewerPrefs, who.user_id)
    if row is None:
        row = ReviewerPrefs(user_id=who.user_id)
        session.add(row)
    row.blur_from, row.grayscale, row.break_after = data.blur_from, data.grayscale, data.break_after
    row.updated_at = rt.now()
    return Prefs(data.blur_from, data.grayscale, data.break_after)


def severe_run(session: Session, rt: Runtime, who: Principal) -> int:
    """How many severe cases the caller decided in a row, most recent first, without a break."""
    if who.user_id is None:
        return 0
    rows = session.execute(
        select(CaseDecision.decided_at, Case.policy)
        .join(Case, Case.id == CaseDecision.case_id)
        .where(CaseDecision.reviewer_id == who.user_id)
        .order_by(CaseDecision.decided_at.desc(), CaseDecision.id.desc())
        .limit(RUN_WINDOW)
    ).all()
    levels = harm_levels(rt)
    run, last = 0, rt.now()
    for at, area in rows:
        if last - at > BREAK_GAP or levels.get(area or "") not in SEVERE:
            break
        run, last = run + 1, at
    return run


def context(session: Session, rt: Runtime, who: Principal) -> dict[str, Any]:
    """What every workbench page needs to protect its reader: settings, levels, a break reminder."""
    mine = prefs(session, who)
    run = severe_run(session, rt, who) if mine.break_after else 0
    return {
        "wellbeing": mine,
        "harm": harm_levels(rt),
        "severe_run": run,
        "break_due": bool(mine.break_after) and run >= mine.break_after,
    }
