"""Stage 1, score: text banks, the trained models and the election scorers on a batch of texts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content.models import Post
from townsquare.detection.base import Signal
from townsquare.detection.classify import signals as classifier_signals
from townsquare.detection.language import UNDETERMINED
from townsquare.detection.models import SignalRecord
from townsquare.detection.textbanks import scan_all
from townsquare.elections import hooks as integrity
from townsquare.runtime import Runtime


@dataclass
class Reach:
    """What is known of a post's spread at decision time."""

    views: int = 0
    velocity: float = 0.0
    reports_by_reason: Mapping[str, int] = field(default_factory=dict)
    source: str = "voluntary"  # voluntary | notice | trusted_flagger

    @property
    def report_count(self) -> int:
        return sum(self.reports_by_reason.values())

    @property
    def report_reasons(self) -> list[str]:
        return sorted(self.reports_by_reason)


@dataclass
class Detection:
    """What the scorers found in one text, and its language (given by the platform or detected)."""

    signals: list[Signal]
    language: str | None


def detect(
    rt: Runtime,
    texts: Sequence[str],
    languages: Sequence[str | None] | None = None,
    high_reach: Sequence[bool] | None = None,
) -> list[Detection]:
    """Text banks and the trained models for a batch of texts (the models score the batch at once).

    A language the platform sent is kept; a missing one is detected (`und` when it cannot be told,
    which counts as unknown, not as non-English).
    """
    given = list(languages) if languages is not None else [None] * len(texts)
    results = rt.classifier.classify(texts, given, high_reach) if rt.classifier is not None else None
    out = []
    for i, text in enumerate(texts):
        sigs = scan_all(rt.scorers, text)
        lang = given[i]
        if results is not None:
            sigs.extend(classifier_signals(results[i]))
            lang = lang or (results[i].language if results[i].language != UNDETERMINED else None)
        out.append(Detection(sigs, lang))
    integrity.add_signals(rt, texts, out)  # election scorers, while an election's window is open
    return out


def score(rt: Runtime, text: str, language: str | None = None) -> list[Signal]:
    """Every scorer's signals for one text."""
    return detect(rt, [text], [language])[0].signals


def high_reach(post: Post, reach: Reach) -> bool:
    """Posts the semantic tier re-scores whatever the fast tier said: wide audiences or fast spread."""
    return post.author.follower_count >= 50_000 or reach.views >= 10_000 or reach.velocity >= 1_000


def stored_signals(session: Session, post: Post) -> list[Signal]:
    """The signals stored for a post's current version (for re-decisions without re-scoring)."""
    rows = session.scalars(
        select(SignalRecord).where(SignalRecord.post_id == post.id, SignalRecord.post_version == post.version)
    )
    return [
        Signal(r.scorer, r.scorer_version, r.policy, r.score, r.label, tuple(r.evidence or ())) for r in rows
    ]
