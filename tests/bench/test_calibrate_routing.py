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
