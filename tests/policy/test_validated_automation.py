"""`auto_threshold: validated`: a policy acts alone from the threshold its model was validated to at the
platform's base rate, only on content, and never when no such validation was loaded."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from townsquare.detection.base import Signal
from townsquare.detection.classify import _proven
from townsquare.policy.engine import DecisionContext, decide
from townsquare.policy.loader import PolicyError, load_policies

VALIDATED: dict[str, float | None] = {"textbank.spam": 0.9, "model.spam": None}
NOW = datetime(2026, 3, 2, tzinfo=UTC)

DOC: dict[str, Any] = {
    "area": "spam",
    "title": "Spam",
    "versions": [
        {
            "version": 1,
            "state": "live",
            "severity": "low",
            "definition": "No bulk unsolicited content. Sharing your own work at a normal pace is allowed.",
            "signals": [
                {"scorer": "textbank.spam", "review_threshold": 0.5, "auto_threshold": 0.95},
                {"scorer": "model.spam", "review_threshold": 0.6, "auto_threshold": "validated"},
            ],
            "ladder": [
                {"min_strikes": 0, "action": "remove"},
                {"min_strikes": 1, "action": "suspend", "duration_days": 3},
            ],
            "strikes": {"issue": True, "expire_days": 60},
            "automation": {"enabled": True},
        }
    ],
}


def load(tmp_path: Path, automation: dict[str, float | None] | None, doc: dict[str, Any] = DOC) -> Any:
    (tmp_path / "spam.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return load_policies(tmp_path, VALIDATED, automation)


def outcome(ps: Any, score: float, strikes: int = 0) -> tuple[str, str | None, tuple[str, ...]]:
    d = decide(
        ps,
        [Signal("model.spam", "1.0", None, score)],
        DecisionContext(now=NOW, author_active_strikes={"spam": strikes}),
    )
    assert d.primary is not None
    return d.outcome, d.primary.action, d.primary.reasons


def test_validated_threshold_lets_the_model_remove_content(tmp_path: Path) -> None:
    ps = load(tmp_path, {"model.spam": 0.97})
    assert outcome(ps, 0.98)[:2] == ("action", "remove")
    assert outcome(ps, 0.9)[:2] == ("review", None)


def test_no_validation_recorded_means_no_automation(tmp_path: Path) -> None:
    for automation in (None, {}, {"model.spam": None}):
        sub = tmp_path / str(len(list(tmp_path.iterdir())))
        sub.mkdir()
        ps = load(sub, automation)
        assert outcome(ps, 0.999)[0] == "review"


def test_automation_never_suspends(tmp_path: Path) -> None:
    ps = load(tmp_path, {"model.spam": 0.97})
    result, action, reasons = outcome(ps, 0.99, strikes=3)
    assert (result, action) == ("action", "remove")
    assert "account_action_needs_human" in reasons


def test_the_validated_threshold_is_never_below_review(tmp_path: Path) -> None:
    ps = load(tmp_path, {"model.spam": 0.3})
    live = ps.live("spam")
    assert live.policy.signals[1].auto_threshold == 0.6


def test_the_content_hash_is_that_of_the_declared_rules(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    assert load(a, {"model.spam": 0.97}).content_hash("spam", 1) == load(b, None).content_hash("spam", 1)


def test_states_from_the_database_keep_the_resolution(tmp_path: Path) -> None:
    ps = load(tmp_path, {"model.spam": 0.97}).with_states({("spam", 1): "live"})
    assert outcome(ps, 0.98)[0] == "action"


def test_any_other_word_is_refused(tmp_path: Path) -> None:
    doc = copy.deepcopy(DOC)
    doc["versions"][0]["signals"][1]["auto_threshold"] = "always"
    with pytest.raises(PolicyError, match="auto_threshold"):
        load(tmp_path, {}, doc)


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ({"threshold": 0.97, "base_rate": 0.05, "precision_lower_bound": 0.96}, 0.97),
        ({"threshold": 0.97, "base_rate": 0.05, "precision_lower_bound": 0.9}, None),
        ({"threshold": 0.97, "precision_lower_bound": 0.99}, None),  # no stated base rate
        ({"threshold": None, "base_rate": 0.05}, None),
        (None, None),
    ],
)
def test_only_a_proven_base_rate_validation_counts(found: Any, expected: float | None) -> None:
    assert _proven(found) == expected
