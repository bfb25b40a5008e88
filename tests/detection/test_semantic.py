"""The semantic tier: the committed int8 ONNX model in the cascade, and a tiny fine-tuning run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.detection.conftest import CLAIMS, DATA, MODELS, need_datasets
from townsquare.detection.artifacts import ArtifactError, read_manifest
from townsquare.detection.classify import Classifier
from townsquare.detection.semantic import CALIBRATION_FILE, MODEL_FILE, SemanticTier, load_semantic
from townsquare.detection.training import pipeline


def _quiet(_: str) -> None:
    return None


@pytest.fixture(scope="module")
def cascade() -> Classifier:
    semantic = load_semantic(MODELS)
    assert semantic is not None, "the committed models include the semantic tier and make installs its extra"
    return Classifier(MODELS, CLAIMS, semantic=semantic)


def test_the_cascade_rescores_and_records_both_versions(cascade: Classifier) -> None:
    texts = ["Muslims are vermin and should all be deported", "What a lovely walk by the river"]
    results = cascade.classify(texts, ["en", "en"], high_reach=[True, False])
    hate = results[0].scores["hate"]
    assert hate.tier == "cascade"  # high reach: always re-scored
    assert hate.flagged
    assert "/" in hate.version  # fast version / semantic version
    assert cascade.semantic is not None
    assert hate.threshold == cascade.semantic.threshold("hate")
    assert not any(s.flagged for s in results[1].scores.values())


def test_claims_are_matched_by_meaning(cascade: Classifier) -> None:
    text = "the vaccine rewrites your genes permanently"  # the claim says "change your genetic code"
    [words] = Classifier(MODELS, CLAIMS).classify([text], ["en"])
    assert words.scores["misinformation"].extra["claims"] == []  # BM25 alone finds no claim
    [r] = cascade.classify([text], ["en"])
    claims = r.scores["misinformation"].extra["claims"]
    assert r.scores["misinformation"].flagged
    assert any(c["topic"] == "health_vaccines" and c["method"] == "embedding" for c in claims)


def test_a_stale_calibration_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "m"
    shutil.copytree(MODELS, work)
    calib = json.loads((work / CALIBRATION_FILE).read_text())
    calib["fast_files"]["fast/hate.npz"] = "0" * 64
    (work / CALIBRATION_FILE).write_text(json.dumps(calib))
    manifest = json.loads((work / "manifest.json").read_text())
    from townsquare.detection.artifacts import sha256_file

    manifest["files"][CALIBRATION_FILE] = sha256_file(work / CALIBRATION_FILE)
    (work / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="--only calibration"):
        SemanticTier(work)


def test_fine_tuning_a_tiny_sample_exports_a_working_tier(tmp_path: Path) -> None:
    need_datasets()
    work = tmp_path / "m"
    work.mkdir()
    for name in ("manifest.json", "claims.json"):
        shutil.copy(MODELS / name, work / name)
    shutil.copytree(MODELS / "fast", work / "fast")
    manifest = json.loads((work / "manifest.json").read_text())
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith("semantic/")}
    (work / "manifest.json").write_text(json.dumps(manifest))
    pipeline.train(DATA, work, CLAIMS, only=["semantic"], sample=8, log=_quiet, semantic_epochs=0.05)
    files = read_manifest(work).files
    assert MODEL_FILE in files
    assert CALIBRATION_FILE in files
    tier = SemanticTier(work)
    calib = json.loads((work / CALIBRATION_FILE).read_text())
    assert set(calib["heads"]) == {"hate", "abuse", "threat", "misinformation", "scam", "spam"}
    assert calib["export_max_gap"] < 0.1  # int8 ONNX agrees with the PyTorch model
    [r] = Classifier(work, CLAIMS, semantic=tier).classify(["hello there"], high_reach=[True])
    assert r.scores["spam"].tier == "cascade"
