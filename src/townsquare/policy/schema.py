"""Pydantic models for the policy file format (`policies/<area>.yaml`) and the election calendar.

The models are strict: unknown keys are rejected and enumerations are closed, so a typo in a policy
file fails loudly at load time instead of silently changing what gets enforced.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Action = Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"]
Severity = Literal["low", "medium", "high", "critical"]
State = Literal["draft", "shadow", "live", "retired"]

# The action ladder, mildest first; the index is the action's severity rank.
ACTIONS: tuple[Action, ...] = get_args(Action)
ACTION_RANK: dict[str, int] = {a: i for i, a in enumerate(ACTIONS)}
# Automation may apply these on its own; account actions always need a human.
CONTENT_ACTIONS: frozenset[str] = frozenset({"label", "reduce_reach", "demonetise", "remove"})
ACCOUNT_ACTIONS: frozenset[str] = frozenset({"suspend", "ban"})
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
STATES: tuple[State, ...] = get_args(State)

POLICY_AREAS: tuple[str, ...] = (
    "hate_speech",
    "harassment_threats",
    "violent_extremism",
    "election_misinformation",
    "health_misinformation",
    "scams_fraud",
    "spam",
    "impersonation",
    "private_information",
    "self_harm",
    "child_safety",
    "ban_evasion",
)

AREA_PATTERN = r"^[a-z][a-z0-9_]*$"
SCORER_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$"
# Used to match a post's country to an EU-wide election period.
EU_MEMBER_STATES: frozenset[str] = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split()
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SignalRule(_Strict):
    """How one scorer's signal counts toward this policy."""

    scorer: str = Field(pattern=SCORER_PATTERN)
    review_threshold: float = Field(gt=0.0, le=1.0)
    # None: this scorer may route to review but never act alone under this policy. "validated": the
    # threshold the scorer's model was validated to at the platform's base rate (Wilson 95% lower bound
    # >= 0.95, read from the model's metadata when the policies load); none recorded: never acts alone.
    auto_threshold: float | Literal["validated"] | None = Field(default=None)

    @model_validator(mode="after")
    def _auto_not_below_review(self) -> SignalRule:
        if isinstance(self.auto_threshold, float) and not 0.0 <= self.auto_threshold <= 1.0:
            raise ValueError('auto_threshold must be between 0 and 1, "validated" or null')
        if isinstance(self.auto_threshold, float) and self.auto_threshold < self.review_threshold:
            raise ValueError("auto_threshold must be >= review_threshold")
        return self


class LadderStep(_Strict):
    """The action for a violation by an author holding at least `min_strikes` active strikes."""

    min_strikes: int = Field(ge=0)
    action: Action
    duration_days: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _duration_only_for_suspend(self) -> LadderStep:
        if self.action == "suspend" and self.duration_days is None:
            raise ValueError("suspend needs duration_days")
        if self.action != "suspend" and self.duration_days is not None:
            raise ValueError(f"duration_days is only for suspend, not {self.action}")
        return self


class Strikes(_Strict):
    """Whether a confirmed violation adds a strike, and when strikes stop counting."""

    issue: bool
    expire_days: int = Field(default=90, ge=1)


class Automation(_Strict):
    """Whether this policy may act without a human at all."""

    enabled: bool


class ElectionPeriodRule(_Strict):
    """Threshold multipliers applied while an election period is active (only ever stricter)."""

    review_multiplier: float = Field(default=1.0, gt=0.0, le=1.0)
    auto_multiplier: float = Field(default=1.0, gt=0.0, le=1.0)


class HighReachRule(_Strict):
    """Reach at or above any of these routes actions beyond reduce_reach to a human."""

    views: int | None = Field(default=None, ge=1)
    followers: int | None = Field(default=None, ge=1)
    velocity: float | None = Field(default=None, gt=0.0)  # views per hour

    @model_validator(mode="after")
    def _at_least_one(self) -> HighReachRule:
        if self.views is None and self.followers is None and self.velocity is None:
            raise ValueError("high_reach needs views, followers or velocity")
        return self


class ReportsRule(_Strict):
    """Enough user reports route to review even below review_threshold, if a signal reaches the floor."""

    min_reports: int = Field(ge=1)
    score_floor: float = Field(ge=0.0, le=1.0)


class Context(_Strict):
    """Context rules that adjust thresholds or route to humans."""

    election_period: ElectionPeriodRule | None = None
    high_reach: HighReachRule | None = None
    reports: ReportsRule | None = None
    protected_author: Literal["review", "ignore"] = "review"


class PolicyVersion(_Strict):
    """One immutable version of a policy area."""

    version: int = Field(ge=1)
    state: State
    severity: Severity
    definition: str = Field(min_length=40)
    signals: list[SignalRule] = Field(min_length=1)
    ladder: list[LadderStep] = Field(min_length=1)
    strikes: Strikes
    automation: Automation
    context: Context = Context()
    support_message: str | None = Field(default=None, min_length=20)
    notes: str | None = None

    @field_validator("signals")
    @classmethod
    def _unique_scorers(cls, signals: list[SignalRule]) -> list[SignalRule]:
        scorers = [s.scorer for s in signals]
        if len(set(scorers)) != len(scorers):
            raise ValueError("each scorer may appear once")
        return signals

    @field_validator("ladder")
    @classmethod
    def _ladder(cls, ladder: list[LadderStep]) -> list[LadderStep]:
        if ladder[0].min_strikes != 0:
            raise ValueError("ladder must start at min_strikes 0")
        for prev, step in zip(ladder, ladder[1:], strict=False):
            if step.min_strikes <= prev.min_strikes:
                raise ValueError("ladder must be sorted by strictly increasing min_strikes")
            # More strikes must never earn a milder action than fewer strikes did.
            if ACTION_RANK[step.action] < ACTION_RANK[prev.action]:
                raise ValueError(f"ladder gets milder at min_strikes {step.min_strikes}")
        return ladder

    def step_for(self, strikes: int) -> LadderStep:
        """The ladder step for an author holding `strikes` active strikes in this area."""
        chosen = self.ladder[0]
        for step in self.ladder:
            if step.min_strikes <= strikes:
                chosen = step
        return chosen


class PolicyFile(_Strict):
    """A policy area with all its versions, as stored in `policies/<area>.yaml`."""

    area: str = Field(pattern=AREA_PATTERN)
    title: str = Field(min_length=3)
    versions: list[PolicyVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_versions(self) -> PolicyFile:
        numbers = [v.version for v in self.versions]
        if numbers != sorted(set(numbers)):
            raise ValueError("versions must be unique and listed in ascending order")
        for state in ("live", "shadow"):
            if sum(v.state == state for v in self.versions) > 1:
                raise ValueError(f"at most one {state} version per area")
        return self


class ElectionPeriod(_Strict):
    """One configured election period; both dates are inclusive."""

    name: str = Field(min_length=3)
    jurisdiction: str = Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
    start: date
    end: date
    provisional: bool = False  # dates announced but not yet fixed by law

    @model_validator(mode="after")
    def _ordered(self) -> ElectionPeriod:
        if self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class ElectionCalendar(_Strict):
    """The configured election calendar (`elections.yaml`)."""

    periods: list[ElectionPeriod]

    def active(self, day: date, jurisdiction: str | None = None) -> list[ElectionPeriod]:
        """Periods covering `day`; with `jurisdiction`, only those that include it."""
        return [
            p
            for p in self.periods
            if p.start <= day <= p.end and (jurisdiction is None or _covers(p.jurisdiction, jurisdiction))
        ]


def _covers(period: str, place: str) -> bool:
    # "GB" covers "GB-SCT"; "EU" covers each member state, since EU elections run in all of them.
    country = place.split("-")[0]
    return place == period or country == period or (period == "EU" and country in EU_MEMBER_STATES)
