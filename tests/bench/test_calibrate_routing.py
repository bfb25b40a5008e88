"""Routing calibration helpers: which texts a set of thresholds opens, and their weighted volume."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import calibrate_routing as cr  # noqa: E402


def test_opened_by_needs_a_signal_at_or_above_the_rule_threshold() -> None:
    scores = {
        ("hate_speech", "model.hate"): np.array([0.0, 0.5, 0.7]),
        ("spam", "model.spam"): np.array([0.9, 0, 0]),
    }
    opened = cr.opened_by(scores, {("hate_speech", "model.hate"): 0.6, ("spam", "model.spam"): None}, 3)
    assert opened.tolist() == [False, False, True]  # a None threshold never opens


def test_volume_is_weighted_at_the_base_rate() -> None:
    y = np.array([True, False, False, False])
    w = cr.weights(y, 0.05)
    assert w.sum() == pytest.approx(1.0)
    got = cr.volume(np.array([True, True, False, False]), y, w)
    assert got["cases_share"] == pytest.approx(0.05 + 0.95 / 3, abs=1e-5)
    assert got["recall"] == 1.0
    assert got["precision"] == pytest.approx(0.05 / (0.05 + 0.95 / 3), abs=1e-4)


def test_no_text_of_any_streamed_test_split_is_calibrated_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from townsquare.detection.training.datasets import Example, Part, TaskData

    def part(val: list[str], test: list[str]) -> Part:
        rows = [Example(t, 1) for t in val]
        return Part("d", "D", "x", False, "s", ("no", "yes"), [], rows, [Example(t, 0) for t in test])

    # One dataset split twice (as Davidson is for hate and for abuse): a validation row of one task is a
    # test row of the other, and the exposure stream draws from every task's test split.
    tasks = {"hate": TaskData("hate", [part(["shared", "only val"], ["x"])])}
    tasks["abuse"] = TaskData("abuse", [part(["y"], ["shared "])])

    class Truth:
        def policies(self, text: str) -> frozenset[str]:
            return frozenset({"hate_speech"})

    monkeypatch.setattr(cr, "TASKS", ("hate", "abuse"))
    monkeypatch.setattr(cr, "load_task", lambda task, data_dir: tasks[task])
    monkeypatch.setattr(cr.ground_truth, "build", lambda data_dir: Truth())
    texts, y = cr.validation_set(Path("unused"))
    assert texts == ["only val", "y"]
    assert y.tolist() == [True, True]


def test_one_shared_cut_off_gives_each_rule_the_lowest_score_that_reaches_it() -> None:
    # Two rules on eight texts each: a is half right from 0.6 and always from 0.8; b half from 0.85,
    # always from 0.95.
    a = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    b = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4]
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0] + [1, 0, 1, 0, 0, 0, 0, 0], dtype=bool)
    scores = {
        ("hate_speech", "model.hate"): np.array(a + [0.0] * 8),
        ("spam", "model.spam"): np.array([0.0] * 8 + b),
    }
    w = np.full(len(y), 1 / len(y))
    fits = {rule: cr.fit(s, y, w) for rule, s in scores.items()}

    def thresholds(cut: float) -> list[float | None]:
        return [cr.threshold(fits[rule], s, cut) for rule, s in scores.items()]

    # Within 0.3 of posts only the certain scores fit (3 of 16); the half-right ones would make 7.
    cut, curve = cr.choose(fits, scores, y, w, budget=0.3)
    assert cut == 0.51
    assert all(c["cases_share"] > 0.3 for c in curve if c["cut"] < cut)
    assert thresholds(cut) == [0.8, 0.95]
    # A wider budget lowers the one cut-off, and with it every rule's threshold.
    cut, _ = cr.choose(fits, scores, y, w, budget=0.5)
    assert cut == 0.05
    assert thresholds(cut) == [0.6, 0.85]
    opened = cr.opened_by(scores, dict(zip(scores, thresholds(cut), strict=True)), len(y))
    assert cr.volume(opened, y, w)["cases_share"] == pytest.approx(7 / 16, abs=1e-4)


def test_the_live_policies_use_the_calibrated_review_thresholds() -> None:
    import json

    from townsquare.config import PROJECT_ROOT
    from townsquare.policy.loader import load_policy_file

    doc = json.loads(cr.OUT.read_text(encoding="utf-8"))
    checked = 0
    for area, rules in doc["rules"].items():
        (live,) = [
            v
            for v in load_policy_file(PROJECT_ROOT / "policies" / f"{area}.yaml").versions
            if v.state == "live"
        ]
        thresholds = {s.scorer: s.review_threshold for s in live.signals}
        for scorer, rule in rules.items():
            if rule["review_threshold"] is not None and scorer.startswith(("model.", "claims.")):
                assert thresholds[scorer] == pytest.approx(rule["review_threshold"]), (area, scorer)
                checked += 1
    assert checked >= 8
