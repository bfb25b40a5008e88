"""The scorer contract shared by every detection source (text banks now, models later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Signal:
    """One scorer's output for one post version.

    `score` is in [0, 1]; `evidence` lists what drove it (matched terms, spans, claims),
    each a small JSON-able dict such as {"kind": "term", "match": "...", "bank": "..."}.
    """

    scorer: str
    scorer_version: str
    policy: str | None
    score: float
    label: str | None = None
    evidence: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for storage and JSON."""
        return {
            "scorer": self.scorer,
            "scorer_version": self.scorer_version,
            "policy": self.policy,
            "score": self.score,
            "label": self.label,
            "evidence": list(self.evidence),
        }


class Scorer(Protocol):
    """A named, versioned source of signals.

    `auto_threshold` is the validated lowest score at which this scorer may act alone
    (None: it never acts alone); a policy may be stricter, never laxer.
    """

    name: str
    version: str
    auto_threshold: float | None

    def score(self, text: str) -> Signal | None:
        """Score one text; None when there is nothing to report."""
        ...
