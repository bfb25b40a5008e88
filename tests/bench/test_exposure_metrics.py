"""Queue precision figures of the exposure benchmark, on hand-made samples."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import exposure_metrics as em  # noqa: E402


def test_case_precision_counts_label_posts() -> None:
    violating = np.array([True, False, False, True])
    cases = [("review", 0), ("review", 1), ("account_action", 3), ("review", 2), ("review", -1)]
    got = em.case_precision(cases, violating)
    assert got["cases_precision"] == 0.5  # 2 of the 4 cases with a label post
    assert got["review_cases_precision"] == round(1 / 3, 6)
    assert got["review_cases_on_violating_posts"] == 1


def test_queue_precision_median_and_min_judged_only_with_50_open() -> None:
    violating = np.zeros(100, dtype=bool)
    violating[:30] = True
    samples = [
        (1, {"hate": (60, list(range(50))), "threats": (10, [0, 50])}),  # hate 30/50 = 0.6
        (2, {"hate": (80, list(range(10, 60)))}),  # 20/50 = 0.4
        (3, {"hate": (40, list(range(0, 10)))}),  # 10/10 = 1.0 but under 50 open
    ]
    got = em.queue_precision(samples, violating)
    hate = got["hate"]
    assert hate["samples"] == 3
    assert hate["judged_samples"] == 2
    assert hate["judged_top50_precision_median"] == 0.5
    assert hate["judged_top50_precision_min"] == 0.4
    assert hate["top50_precision_median"] == 0.6
    assert got["threats"]["judged_samples"] == 0
    assert got["threats"]["judged_top50_precision_median"] is None
    targets = em.precision_targets(1000, 90, 0.9, got)
    assert targets["met"] == {
        "cases_opened_share": True,
        "top50_precision": False,
        "violating_views_with_case": True,
    }
    assert em.precision_targets(1000, 101, 0.84, {})["met"]["cases_opened_share"] is False


def test_cases_by_rule_counts_each_rule_and_its_violating_share() -> None:
    violating = np.array([True, False, False, True])
    rules = [("hate_speech|model.hate", 0), ("hate_speech|model.hate", 1), ("spam|model.spam", 3)]
    got = em.cases_by_rule(rules + [("hate_speech|model.hate", 2)], violating, posts=10)
    assert list(got) == ["hate_speech|model.hate", "spam|model.spam"]  # most cases first
    assert got["hate_speech|model.hate"] == {"cases": 3, "share_of_posts": 0.3, "precision": round(1 / 3, 6)}
    assert got["spam|model.spam"] == {"cases": 1, "share_of_posts": 0.1, "precision": 1.0}
