"""Priority reads a case's likelihood at the platform's base rate, for the models it was calibrated on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from townsquare.detection.artifacts import read_manifest
from townsquare.review import likelihood
from townsquare.review.priority import PriorityInputs, priority

ROOT = Path(__file__).resolve().parents[2]
DOC = {
    "base_rate": 0.05,
    "models": "",
    "rules": {"harassment_threats|model.threat": [[0.5, 0.02], [0.9, 0.05], [0.993, 0.9]]},
}


def _write(tmp_path: Path, models: str) -> Path:
    path = tmp_path / "likelihood.json"
    path.write_text(json.dumps({**DOC, "models": models}), encoding="utf-8")
    return path


def test_interpolates_between_breakpoints_and_knows_only_its_rules(tmp_path: Path) -> None:
    files = {"fast/threat.npz": "abc"}
    cal = likelihood.for_models(files, _write(tmp_path, likelihood.fingerprint(files)))
    assert cal is not None
    assert cal.of("harassment_threats", "model.threat", 0.9) == pytest.approx(0.05)
    assert cal.of("harassment_threats", "model.threat", 0.7) == pytest.approx(0.035)
    assert cal.of("harassment_threats", "model.threat", 0.1) == pytest.approx(0.02)
    assert cal.of("hate_speech", "model.hate", 0.9) is None


def test_another_models_calibration_is_not_used(tmp_path: Path) -> None:
    path = _write(tmp_path, likelihood.fingerprint({"fast/threat.npz": "old"}))
    assert likelihood.for_models({"fast/threat.npz": "retrained"}, path) is None
    assert likelihood.for_models(None, path) is None


def test_the_committed_calibration_matches_the_committed_models() -> None:
    files = read_manifest(ROOT / "models").files
    doc = json.loads(likelihood.LIKELIHOOD_FILE.read_text(encoding="utf-8"))
    if doc["models"] != likelihood.fingerprint(files):
        # The models were retrained after the calibration: it must not be used (priority falls back to the
        # raw scores) until `bench/calibrate_routing.py --likelihood` is rerun.
        assert likelihood.for_models(files) is None
        return
    cal = likelihood.for_models(files)
    assert cal is not None
    assert cal.base_rate == 0.05
    # A threat score that opens half the benign posts' false cases is far from a 0.78 likelihood.
    got = cal.of("harassment_threats", "model.threat", 0.78)
    assert got is not None
    assert got < 0.3


def test_priority_uses_the_calibrated_likelihood() -> None:
    base = {
        "severity": "high",
        "score": 0.78,
        "independent_reports": 0,
        "trusted_reports": 0,
        "views": 100,
        "velocity": 50.0,
        "followers": 10,
        "hours_waiting": 0.0,
    }
    raw, _ = priority(PriorityInputs(**base))  # type: ignore[arg-type]
    calibrated, shown = priority(PriorityInputs(**base, calibrated=0.08))  # type: ignore[arg-type]
    assert calibrated == pytest.approx(raw * 0.08 / 0.78)
    assert shown["calibrated"] == 0.08
    assert shown["likelihood"] == 0.08


def test_a_model_that_opens_no_case_leaves_the_calibration_in_force() -> None:
    scoring = {"fast/hate.npz": "a", "semantic/model.onnx": "b", "claims.json": "c"}
    same = likelihood.fingerprint({**scoring, "brandsafety/labels.npz": "retrained"})
    assert same == likelihood.fingerprint({**scoring, "brandsafety/labels.npz": "old"})
    for name in scoring:  # a fast head, the semantic tier or the claim library: calibrate again
        assert likelihood.fingerprint({**scoring, name: "retrained"}) != likelihood.fingerprint(scoring)
