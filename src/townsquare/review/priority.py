"""Case priority: the expected harm a review prevents, from what is known at that moment.

    priority = severity × likelihood × (1 + expected_future_views) × (1 + 0.02 × hours_waiting)

* **severity**: the policy's severity as a weight: low 1, medium 2, high 3, critical 5.
* **likelihood** that the content violates. It starts from the best model or text-bank score for the
  case's policy, as calibrated at the platform's base rate where `likelihood.json` knows the (policy,
  scorer) and the models loaded (`likelihood.py`; else the raw score), blended with how often
  reviewers have upheld the review cases that the same (policy, scorer) opened:
  base = (upheld + 10 × score) / (decided + 10), so the score speaks alone until its
  signal has a record, and a signal reviewers rarely uphold sinks whatever its scores (`uphold.py`).
  Independent reports raise it: 1 − (1 − base) × 0.75^independent_reports, where a trusted flagger's
  report counts as 3 and a report flagged as possible brigading does not count. Cases that exist to
  check people or automation (second reviews, automation samples, escalations) use 0.5.
* **expected_future_views**: what the post will still be seen by if nothing is done. Views decay with a
  half-life of about two hours, so a post now seen `velocity` times an hour will gather about
  velocity × 2h / ln 2 more. Before any view snapshot, the author's followers stand in: 1% of them an
  hour. Account cases use the account's followers the same way.
* **hours_waiting** keeps old cases from starving: a day in the queue adds 48%.

Every input is stored on the case (`priority_inputs`) and shown with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

SEVERITY_WEIGHT = {"low": 1.0, "medium": 2.0, "high": 3.0, "critical": 5.0}
HALF_LIFE_H = 2.0
HORIZON_H = HALF_LIFE_H / math.log(2)
FOLLOWER_RATE = 0.01  # views per follower per hour before any snapshot
REPORT_DISCOUNT = 0.75
TRUSTED_WEIGHT = 3
WAIT_BOOST = 0.02
CHECK_LIKELIHOOD = 0.5
RECORD_PRIOR = 10  # decisions' worth of trust in the score before the signal's own record


@dataclass(frozen=True)
class PriorityInputs:
    """Everything the priority is computed from."""

    severity: str
    score: float
    independent_reports: int
    trusted_reports: int
    views: int
    velocity: float
    followers: int
    hours_waiting: float
    check: bool = False  # second review, automation sample or escalation
    upheld: int = 0  # of `decided` earlier decisions on review cases of the same (policy, scorer)
    decided: int = 0
    # The score's likelihood at the platform's base rate (review/likelihood.py); None: the score itself.
    calibrated: float | None = None

    def likelihood(self) -> float:
        """How likely the content violates: the score blended with its signal's record, then reports."""
        if self.check:
            return CHECK_LIKELIHOOD
        score = min(max(self.score if self.calibrated is None else self.calibrated, 0.0), 1.0)
        base = (self.upheld + RECORD_PRIOR * score) / (self.decided + RECORD_PRIOR)
        # independent_reports excludes trusted flaggers, whose reports each count TRUSTED_WEIGHT times.
        weight = self.independent_reports + TRUSTED_WEIGHT * self.trusted_reports
        return 1 - (1 - base) * REPORT_DISCOUNT**weight

    def expected_future_views(self) -> float:
        """Views still to come if nothing is done."""
        rate = self.velocity if self.velocity > 0 or self.views > 0 else FOLLOWER_RATE * self.followers
        return rate * HORIZON_H


_INPUT_FIELDS = tuple(f.name for f in fields(PriorityInputs))


def priority(inputs: PriorityInputs) -> tuple[float, dict[str, Any]]:
    """The priority and the inputs that made it (for the case view)."""
    sev = SEVERITY_WEIGHT.get(inputs.severity, 2.0)
    likelihood = inputs.likelihood()
    future = inputs.expected_future_views()
    value = sev * likelihood * (1 + future) * (1 + WAIT_BOOST * max(inputs.hours_waiting, 0.0))
    shown = {
        **{name: getattr(inputs, name) for name in _INPUT_FIELDS},
        "severity_weight": sev,
        "likelihood": round(likelihood, 4),
        "expected_future_views": round(future, 1),
        "priority": round(value, 4),
    }
    return value, shown
