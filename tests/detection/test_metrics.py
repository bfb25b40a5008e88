"""Threshold selection and calibration measures used by training and the model card."""

from __future__ import annotations

import numpy as np
import pytest

from townsquare.detection.training.metrics import (
    auto_threshold,
    best_f1_threshold,
    binary_report,
    reliability,
    wilson_interval,
    wilson_lower,
)


def test_wilson_lower_bound_matches_the_textbook_value() -> None:
    # 95 successes of 100: the Wilson 95% interval is about (0.888, 0.978).
    lo, hi = wilson_interval(95, 100)
    assert lo == pytest.approx(0.8883, abs=1e-3)
    assert hi == pytest.approx(0.9785, abs=1e-3)
    assert wilson_lower(0, 0) == 0.0


def test_auto_threshold_needs_fifty_flagged_and_a_precise_lower_bound() -> None:
    # 200 positives scored 0.9..1.0, 200 negatives below 0.5: from 0.9 up every flag is right, and a
    # few negatives below it still keep the Wilson bound over 0.95, so the lowest such threshold is lower.
    y = np.array([1] * 200 + [0] * 200)
    p = np.concatenate([np.linspace(0.9, 1.0, 200), np.linspace(0.0, 0.5, 200)])
    t = auto_threshold(y, p)
    assert t is not None
    assert 0.45 < t <= 0.9
    flagged = p >= t
    assert flagged.sum() >= 50
    assert wilson_lower(int(y[flagged].sum()), int(flagged.sum())) >= 0.95


def test_auto_threshold_is_none_when_precision_never_holds() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    p = rng.random(500)  # scores unrelated to labels
    assert auto_threshold(y, p) is None


def test_auto_threshold_is_none_with_too_few_flagged() -> None:
    y = np.array([1] * 30 + [0] * 300)
    p = np.concatenate([np.full(30, 0.99), np.full(300, 0.01)])
    assert auto_threshold(y, p) is None  # perfect, but only 30 rows would be flagged


def test_best_threshold_weights_datasets_equally() -> None:
    y1, p1 = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.8, 0.9])
    threshold, score = best_f1_threshold([(y1, p1)])
    assert 0.2 < threshold <= 0.8
    assert score == pytest.approx(1.0)


def test_reliability_bins_count_every_row() -> None:
    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0.05, 0.95, 0.55, 0.45, 1.0])
    table = reliability(y, p)
    assert sum(b["n"] for b in table) == 5
    assert table[-1]["n"] == 2
    assert table[-1]["observed"] == 1.0


def test_binary_report_names_each_class() -> None:
    y = np.array([0, 0, 1, 1])
    rep = binary_report(y, np.array([0.1, 0.6, 0.7, 0.9]), 0.5, ("ham", "spam"))
    assert set(rep["per_class"]) == {"ham", "spam"}
    assert rep["per_class"]["spam"]["recall"] == 1.0
    assert rep["per_class"]["ham"]["recall"] == 0.5
    assert rep["roc_auc"] == 1.0


def test_auto_threshold_at_base_rate_is_stricter_than_on_balanced_validation() -> None:
    import numpy as np

    from townsquare.detection.training.metrics import (
        auto_threshold,
        auto_threshold_at_base_rate,
        base_rate_weights,
    )

    rng = np.random.default_rng(0)
    y = np.array([1] * 2000 + [0] * 2000)
    p = np.clip(np.where(y == 1, rng.normal(0.75, 0.12, len(y)), rng.normal(0.3, 0.12, len(y))), 0, 1)
    w = base_rate_weights(y, 0.05)
    assert abs(w[y == 1].sum() / w.sum() - 0.05) < 1e-9
    balanced = auto_threshold(y, p)
    at_base = auto_threshold_at_base_rate(y, p, 0.05)
    assert balanced is not None
    assert at_base is not None
    assert at_base["threshold"] > balanced
    assert at_base["base_rate"] == 0.05
    assert at_base["precision_lower_bound"] >= 0.95
    # Precision at 5% prevalence, recomputed by hand from the rates, clears 0.95 at that threshold.
    tpr = float(np.mean(p[y == 1] >= at_base["threshold"]))
    fpr = float(np.mean(p[y == 0] >= at_base["threshold"]))
    assert 0.05 * tpr / (0.05 * tpr + 0.95 * fpr) >= 0.95
    # Scores that cannot tell the classes apart never qualify.
    assert auto_threshold_at_base_rate(y, rng.random(len(y)), 0.05) is None
