"""Loading policy files: the shipped ones load, and every refusal names file, version and field."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from townsquare.policy.loader import (
    PolicyError,
    load_election_calendar,
    load_policies,
    load_policy_file,
)
from townsquare.policy.schema import POLICY_AREAS

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "policies"
VALIDATED: dict[str, float | None] = {f"textbank.{a}": 0.9 for a in POLICY_AREAS}

BASE: dict[str, Any] = {
    "area": "spam",
    "title": "Spam",
    "versions": [
        {
            "version": 1,
            "state": "live",
            "severity": "low",
            "definition": "No bulk unsolicited content. Sharing your own work at a normal pace is allowed.",
            "signals": [{"scorer": "textbank.spam", "review_threshold": 0.5, "auto_threshold": 0.95}],
            "ladder": [
                {"min_strikes": 0, "action": "reduce_reach"},
                {"min_strikes": 2, "action": "suspend", "duration_days": 3},
            ],
            "strikes": {"issue": True, "expire_days": 60},
            "automation": {"enabled": True},
        }
    ],
}


def write(tmp_path: Path, data: dict[str, Any], name: str | None = None) -> Path:
    path = tmp_path / f"{name or data['area']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def base(**version_changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["versions"][0].update(version_changes)
    return data


def test_every_shipped_policy_file_loads() -> None:
    files = sorted(POLICIES.glob("*.yaml"))
    assert {p.stem for p in files} == set(POLICY_AREAS)
    for path in files:
        assert load_policy_file(path).area == path.stem


def test_shipped_policy_set_has_one_live_version_per_area() -> None:
    ps = load_policies(POLICIES, VALIDATED)
    assert ps.areas() == sorted(POLICY_AREAS)
    assert all(ps.live(a) is not None for a in ps.areas())
    assert ps.shadow_areas() == ["hate_speech"]
    shadow = ps.shadow("hate_speech")
    assert shadow is not None
    assert shadow.version == 2
    assert ps.version("election_misinformation", 2).state == "draft"


def test_content_hash_is_sha256_and_ignores_state(tmp_path: Path) -> None:
    ps = load_policies(write(tmp_path, BASE).parent, VALIDATED)
    h = ps.content_hash("spam", 1)
    assert len(h) == 64
    assert int(h, 16) >= 0
    retired = base(state="retired")
    other = tmp_path / "other"
    other.mkdir()
    assert load_policies(write(other, retired).parent, VALIDATED).content_hash("spam", 1) == h
    changed = base(severity="medium")
    again = tmp_path / "again"
    again.mkdir()
    assert load_policies(write(again, changed).parent, VALIDATED).content_hash("spam", 1) != h


def test_unknown_scorer_without_auto_threshold_loads(tmp_path: Path) -> None:
    data = base()
    data["versions"][0]["signals"].append({"scorer": "model.spam", "review_threshold": 0.7})
    ps = load_policies(write(tmp_path, data).parent, VALIDATED)
    live = ps.live("spam")
    assert live is not None
    assert live.policy.signals[1].auto_threshold is None


def refuse(
    tmp_path: Path, data: dict[str, Any], validated: dict[str, float | None] | None = None
) -> PolicyError:
    path = write(tmp_path, data)
    with pytest.raises(PolicyError) as info:
        load_policies(path.parent, VALIDATED if validated is None else validated)
    assert path.name in str(info.value)
    return info.value


def test_refuses_auto_threshold_below_validated(tmp_path: Path) -> None:
    err = refuse(tmp_path, base(), {"textbank.spam": 0.97})
    assert (err.version, err.field) == (1, "signals[0].auto_threshold")
    assert "version 1: signals[0].auto_threshold" in str(err)


def test_refuses_auto_threshold_for_scorer_that_never_acts_alone(tmp_path: Path) -> None:
    err = refuse(tmp_path, base(), {"textbank.spam": None})
    assert err.field == "signals[0].auto_threshold"
    assert "never act alone" in err.reason


def test_refuses_auto_threshold_for_unknown_scorer(tmp_path: Path) -> None:
    data = base()
    data["versions"][0]["signals"].append(
        {"scorer": "model.spam", "review_threshold": 0.7, "auto_threshold": 0.99}
    )
    err = refuse(tmp_path, data)
    assert err.field == "signals[1].auto_threshold"
    assert "not installed" in err.reason


def test_refuses_election_multiplier_below_validated(tmp_path: Path) -> None:
    err = refuse(tmp_path, base(context={"election_period": {"auto_multiplier": 0.9}}))
    assert err.field == "context.election_period.auto_multiplier"


def test_refuses_automation_on_child_safety(tmp_path: Path) -> None:
    data = base(signals=[{"scorer": "textbank.child_safety", "review_threshold": 0.3}])
    data["area"] = "child_safety"
    err = refuse(tmp_path, data)
    assert (err.version, err.field) == (1, "automation.enabled")


def test_refuses_self_harm_ladder_beyond_label(tmp_path: Path) -> None:
    data = base(strikes={"issue": False}, support_message="Help is available: call your local crisis line.")
    data["area"] = "self_harm"
    err = refuse(tmp_path, data)
    assert err.field == "ladder[0].action"


def test_refuses_self_harm_strikes(tmp_path: Path) -> None:
    data = base(
        ladder=[{"min_strikes": 0, "action": "label"}], support_message="Help is available: call 988."
    )
    data["area"] = "self_harm"
    assert refuse(tmp_path, data).field == "strikes.issue"


def test_retired_version_skips_scorer_checks(tmp_path: Path) -> None:
    data = base(state="retired")
    ps = load_policies(write(tmp_path, data).parent, {"textbank.spam": None})
    assert ps.live("spam") is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"colour": "red"}, "colour", "Extra inputs"),
        ({"state": "published"}, "state", "Input should be"),
        ({"ladder": [{"min_strikes": 1, "action": "remove"}]}, "ladder", "start at min_strikes 0"),
        (
            {"ladder": [{"min_strikes": 0, "action": "label"}, {"min_strikes": 0, "action": "remove"}]},
            "ladder",
            "strictly increasing",
        ),
        (
            {"ladder": [{"min_strikes": 0, "action": "remove"}, {"min_strikes": 2, "action": "label"}]},
            "ladder",
            "milder",
        ),
        ({"ladder": [{"min_strikes": 0, "action": "suspend"}]}, "ladder[0]", "suspend needs duration_days"),
        (
            {"ladder": [{"min_strikes": 0, "action": "ban", "duration_days": 3}]},
            "ladder[0]",
            "only for suspend",
        ),
        (
            {"signals": [{"scorer": "textbank.spam", "review_threshold": 0.9, "auto_threshold": 0.5}]},
            "signals[0]",
            "auto_threshold must be >= review_threshold",
        ),
        ({"automation": {"enabled": "yes"}}, "automation.enabled", "valid boolean"),
        (
            {"signals": [{"scorer": "textbank.spam", "review_threshold": 0.5}] * 2},
            "signals",
            "each scorer may appear once",
        ),
        (
            {"context": {"election_period": {"auto_multiplier": 0.5}}},
            "signals[0].review_threshold",
            "would exceed its auto threshold",
        ),
        ({"context": {"high_reach": {}}}, "context.high_reach", "needs views, followers or velocity"),
    ],
)
def test_schema_refusals_name_version_and_field(
    tmp_path: Path, change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(write(tmp_path, base(**change)))
    assert (info.value.version, info.value.field) == (1, field)
    assert message in info.value.reason


def test_refuses_two_live_versions(tmp_path: Path) -> None:
    data = base()
    second = copy.deepcopy(data["versions"][0])
    second["version"] = 2
    data["versions"].append(second)
    with pytest.raises(PolicyError, match="at most one live"):
        load_policy_file(write(tmp_path, data))


def test_refuses_area_not_matching_file_name(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy_file(write(tmp_path, base(), name="junk"))
    assert info.value.field == "area"


def test_refuses_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no policy files"):
        load_policies(tmp_path, VALIDATED)


def test_refuses_broken_yaml(tmp_path: Path) -> None:
    path = tmp_path / "spam.yaml"
    path.write_text("area: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="cannot read YAML"):
        load_policy_file(path)


def test_election_calendar_loads_and_answers_by_date_and_place() -> None:
    cal = load_election_calendar(ROOT / "elections.yaml")
    assert [p.name for p in cal.active(date(2026, 11, 3), "US")] == ["US general election 2026"]
    assert cal.active(date(2026, 12, 1), "US") == []
    assert cal.active(date(2026, 5, 7), "GB-SCT")
    assert not cal.active(date(2026, 5, 7), "GB")
    assert cal.active(date(2029, 5, 20), "DE")
