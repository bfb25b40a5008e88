"""The policy-matched ground truth: the mapping is data, every outcome is a live policy area, and the
labels the issue names map as the policy texts say."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from townsquare.config import PROJECT_ROOT

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
import ground_truth as gt  # noqa: E402

DATA = Path(os.environ.get("TOWNSQUARE_DATA_DIR", str(PROJECT_ROOT.parent / "shared" / "datasets")))


@pytest.fixture(scope="module")
def mapping() -> dict:
    return gt.load_mapping()


def test_every_outcome_is_a_policy_area_none_or_ambiguous(mapping: dict) -> None:
    areas = {p.stem for p in (ROOT / "policies").glob("*.yaml")}
    for spec in mapping["datasets"].values():
        outs = list((spec.get("classes") or {}).values()) + [r["outcome"] for r in spec.get("rules", [])]
        assert outs
        assert set(outs) <= areas | {"none", "ambiguous"}


def test_an_unknown_outcome_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "gt.yaml"
    bad.write_text("version: 1\ndatasets:\n  olid:\n    classes: {NOT: vandalism}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="vandalism"):
        gt.load_mapping(bad)


@pytest.mark.parametrize(
    ("dataset", "cls", "expected"),
    [
        ("olid", "OFF/TIN/IND", "harassment_threats"),
        ("olid", "OFF/UNT", "none"),
        ("olid", "NOT", "none"),
        ("davidson-hate-offensive", "hate_speech", "hate_speech"),
        ("tweeteval-hate", "hate", "hate_speech"),
        ("constraint-covid19-fakenews", "fake", "health_misinformation"),
        ("constraint-covid19-fakenews", "real", "none"),
        ("sms-smishing-5971", "smishing", "scams_fraud"),
        ("team-threats", "threat", "harassment_threats"),
    ],
)
def test_class_mapping(mapping: dict, dataset: str, cls: str, expected: str) -> None:
    row = gt.Row(dataset, "some text", cls)
    assert gt.outcome(mapping["datasets"][dataset], row) == expected


@pytest.mark.parametrize(
    ("label", "subjects", "text", "expected"),
    [
        ("false", ["elections"], "There was serious voter fraud in Virginia.", "election_misinformation"),
        (
            "pants-fire",
            ["elections"],
            "Polls close a day early and absentee ballots are not counted.",
            "election_misinformation",
        ),
        ("false", ["economy"], "Wisconsin is on pace to double the number of layoffs this year.", "none"),
        ("false", ["candidates-biography", "elections"], "Scott Walker had a 2.3 GPA at Marquette.", "none"),
        (
            "pants-fire",
            ["public-health"],
            "Mercury is used in vaccines, and there is no safe level.",
            "health_misinformation",
        ),
        ("true", ["elections"], "Voter fraud is rare in Virginia.", "none"),
        ("barely-true", ["elections"], "Turnout was the lowest in decades.", "ambiguous"),
    ],
)
def test_liar_counts_only_election_procedure_and_health_claims(
    mapping: dict, label: str, subjects: list[str], text: str, expected: str
) -> None:
    row = gt.Row("liar", text, label, {"subjects": subjects})
    assert gt.outcome(mapping["datasets"]["liar"], row) == expected


def test_an_unmapped_class_is_an_error(mapping: dict) -> None:
    with pytest.raises(KeyError, match="not in the ground-truth mapping"):
        gt.outcome(mapping["datasets"]["olid"], gt.Row("olid", "x", "OFF/TIN/XYZ"))


def test_resolution_of_several_labels() -> None:
    truth = gt.Truth(
        {
            "a": {"hate_speech"},
            "b": {"none"},
            "c": {"hate_speech", "none"},
            "d": {"ambiguous"},
            "e": {"spam", "ambiguous"},
        },
        {},
    )
    assert truth.policies("a") == frozenset({"hate_speech"})
    assert truth.policies("b") == frozenset()
    assert truth.policies("c") is None
    assert truth.contested("c")
    assert truth.policies("d") is None
    assert truth.policies("e") == frozenset({"spam"})
    assert truth.policies("never seen") is None


def test_the_real_datasets_resolve(mapping: dict) -> None:
    if not DATA.is_dir():
        pytest.skip(f"the shared datasets are not at {DATA}")
    truth = gt.build(DATA, mapping)
    olid = truth.by_dataset["olid"]
    assert olid["harassment_threats"] > 0
    assert olid["none"] > olid["harassment_threats"]
    liar = truth.by_dataset["liar"]
    # Most false political statements break no policy.
    assert liar["none"] > 50 * (liar["election_misinformation"] + liar["health_misinformation"])
    assert truth.by_dataset["constraint-covid19-fakenews"]["health_misinformation"] > 1000
