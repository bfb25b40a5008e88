"""The documented priority formula: severity × likelihood × (1 + future views) × waiting boost."""

from __future__ import annotations

import math

import pytest

from townsquare.review.priority import HORIZON_H, PriorityInputs, priority


def _inputs(**over: object) -> PriorityInputs:
    base: dict[str, object] = {
        "severity": "high",
        "score": 0.6,
        "independent_reports": 0,
        "trusted_reports": 0,
        "views": 1000,
        "velocity": 200.0,
        "followers": 5000,
        "hours_waiting": 0.0,
    }
    base.update(over)
    return PriorityInputs(**base)  # type: ignore[arg-type]


def test_the_formula_and_its_shown_inputs() -> None:
    value, shown = priority(_inputs(hours_waiting=10.0))
    future = 200.0 * HORIZON_H
    assert value == pytest.approx(3.0 * 0.6 * (1 + future) * 1.2)
    assert shown["expected_future_views"] == round(future, 1)
    assert shown["likelihood"] == 0.6
    assert shown["severity_weight"] == 3.0
    assert shown["views"] == 1000
    assert shown["priority"] == round(value, 4)


def test_reports_raise_the_likelihood_and_a_trusted_flagger_counts_three() -> None:
    plain = _inputs(independent_reports=2).likelihood()
    assert plain == pytest.approx(1 - 0.4 * 0.75**2)
    trusted = _inputs(trusted_reports=1).likelihood()
    assert trusted == pytest.approx(1 - 0.4 * 0.75**3)


def test_checks_use_an_even_likelihood_and_followers_stand_in_before_any_views() -> None:
    assert _inputs(check=True, score=0.99).likelihood() == 0.5
    unseen = _inputs(views=0, velocity=0.0, followers=10_000)
    assert unseen.expected_future_views() == pytest.approx(100.0 * HORIZON_H)


def test_the_fastest_spreading_post_comes_first_at_equal_severity_and_score() -> None:
    slow, fast = priority(_inputs(velocity=50.0))[0], priority(_inputs(velocity=5000.0))[0]
    assert fast > slow * 50
    assert math.isfinite(fast)


def test_a_signal_reviewers_rarely_uphold_sinks_and_one_they_uphold_rises() -> None:
    fresh = _inputs(score=0.8).likelihood()
    assert fresh == pytest.approx(0.8)  # no record yet: the score alone
    rarely = _inputs(score=0.8, upheld=0, decided=40).likelihood()
    assert rarely == pytest.approx((0 + 10 * 0.8) / 50)
    often = _inputs(score=0.5, upheld=36, decided=40).likelihood()
    assert often > rarely * 4
    reported = _inputs(score=0.8, upheld=0, decided=40, independent_reports=2).likelihood()
    assert reported == pytest.approx(1 - (1 - rarely) * 0.75**2)
