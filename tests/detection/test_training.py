"""Training, loading and evaluating the fast tier on a small sample of the datasets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.detection.conftest import CLAIMS, DATA, TINY_BUCKETS, TINY_SAMPLE
from townsquare.detection.artifacts import ArtifactError, read_manifest, sha256_file
from townsquare.detection.classify import Classifier
from townsquare.detection.fast import FastTier
from townsquare.detection.training import pipeline
from townsquare.detection.training.card import card_fast_rows
from townsquare.detection.training.fit import HEADS

SAMPLE = TINY_SAMPLE
BUCKETS = TINY_BUCKETS


def _quiet(_: str) -> None:
    return None


@pytest.fixture
def tiny(tiny_models: Path) -> Path:
    """Fast heads and claim thresholds trained on SAMPLE rows per dataset split (shared, read-only)."""
    return tiny_models


def test_training_writes_every_artifact_with_its_checksum(tiny: Path) -> None:
    m = read_manifest(tiny)
    heads = {"hate", "abuse", "targeted", "threat", "misinformation", "scam", "spam"}
    assert {f"fast/{h}.npz" for h in heads} | {"fast/features.npz", "claims.json"} == set(m.files)
    for name, digest in m.files.items():
        assert sha256_file(tiny / name) == digest
    assert set(m.versions) == heads | {"claims"}
    tier = FastTier(tiny)
    assert tier.heads["hate"].version == f"{HEADS['hate'].version}+{m.files['fast/hate.npz'][:12]}"
    probs = tier.score(["you are all vermin", "lovely weather"])
    assert probs["hate"].shape == (2,)
    assert probs["targeted"].shape == (2, 3)


def test_retraining_from_the_same_data_gives_the_same_bytes(tiny: Path, tmp_path: Path) -> None:
    pipeline.train(DATA, tmp_path, CLAIMS, only=["fast"], sample=SAMPLE, log=_quiet, n_features=BUCKETS)
    again, first = read_manifest(tmp_path).files, read_manifest(tiny).files
    assert {k: v for k, v in again.items() if k.startswith("fast/")} == {
        k: v for k, v in first.items() if k.startswith("fast/")
    }


def test_one_head_retrains_on_the_existing_features(tiny: Path, tmp_path: Path) -> None:
    work = tmp_path / "m"
    shutil.copytree(tiny, work)
    before = read_manifest(work).files
    pipeline.train(DATA, work, CLAIMS, only=["spam"], sample=SAMPLE // 2, log=_quiet)
    after = read_manifest(work).files
    assert after["fast/features.npz"] == before["fast/features.npz"]
    assert after["fast/hate.npz"] == before["fast/hate.npz"]
    assert after["fast/spam.npz"] != before["fast/spam.npz"]


def test_unknown_model_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="unknown model"):
        pipeline.train(DATA, tmp_path, CLAIMS, only=["telepathy"], log=_quiet)


def test_a_corrupt_artifact_names_the_command_that_rebuilds_it(tiny: Path, tmp_path: Path) -> None:
    work = tmp_path / "m"
    shutil.copytree(tiny, work)
    path = work / "fast" / "hate.npz"
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactError, match="does not match the checksum.*townsquare models train"):
        FastTier(work)
    (work / "manifest.json").unlink()
    with pytest.raises(ArtifactError, match="missing.*townsquare models train"):
        Classifier(work, CLAIMS)


def test_a_missing_claims_threshold_names_its_command(tiny: Path, tmp_path: Path) -> None:
    work = tmp_path / "m"
    shutil.copytree(tiny, work)
    (work / "claims.json").unlink()
    with pytest.raises(ArtifactError, match="models train --only claims"):
        Classifier(work, CLAIMS)


def test_evaluation_writes_a_card_whose_table_matches_its_json(tiny: Path, tmp_path: Path) -> None:
    q = pipeline.evaluate(DATA, tiny, CLAIMS, with_baseline=True, sample=SAMPLE, log=_quiet, fast_only=True)
    card, quality = tmp_path / "MODEL_CARD.md", tmp_path / "quality.json"
    pipeline.write_outputs(q, card, quality)
    text = card.read_text(encoding="utf-8")
    assert "Sample run" in text
    assert "## Quality bars" in text
    assert "## Hard cases" in text
    rows = card_fast_rows(text)
    stored = json.loads(quality.read_text(encoding="utf-8"))
    assert rows[("hate", "tweeteval-hate")] == pytest.approx(
        stored["fast"]["hate"]["datasets"]["tweeteval-hate"]["report"]["macro_f1"], abs=1e-4
    )
    assert {b["name"] for b in stored["bars"]} >= {"TweetEval hate macro-F1", "SMS smishing F1"}
    assert "research only" in text  # LIAR, CoAID and others are marked


def test_hand_written_card_sections_survive_regeneration(tmp_path: Path) -> None:
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(
        "# generated\n\n## Quality bars\nold figures\n\n"
        "<!-- notes:start -->\n## Notes\nwhy spam never acts alone\n<!-- notes:end -->\n\n"
        "<!-- brand-safety:start -->\n## Brand-safety labels\nper category\n<!-- brand-safety:end -->\n",
        encoding="utf-8",
    )
    kept = pipeline.kept_sections(card)
    assert "why spam never acts alone" in kept
    assert "per category" in kept
    assert "old figures" not in kept  # generated sections are written anew
