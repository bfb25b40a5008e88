"""The committed model card is true: re-running the fast tier's evaluation reproduces its figures."""

from __future__ import annotations

import json

import pytest

from tests.detection.conftest import CLAIMS, DATA, MODELS, need_datasets
from townsquare.config import PROJECT_ROOT
from townsquare.detection.classify import Classifier
from townsquare.detection.training import hardcases
from townsquare.detection.training.card import card_fast_rows
from townsquare.detection.training.evaluate import evaluate_fast

TOLERANCE = 0.005
QUALITY = PROJECT_ROOT / "bench" / "results" / "quality.json"


def test_fast_tier_test_figures_match_the_committed_card() -> None:
    need_datasets()
    card = card_fast_rows((MODELS / "MODEL_CARD.md").read_text(encoding="utf-8"))
    assert len(card) >= 15
    fresh = evaluate_fast(MODELS, DATA, with_baseline=False, log=lambda _: None)
    for (scorer, dataset), committed in card.items():
        now = fresh[scorer]["datasets"][dataset]["report"]["macro_f1"]
        assert now == pytest.approx(committed, abs=TOLERANCE), (scorer, dataset)


def test_hard_case_accuracy_matches_the_committed_results() -> None:
    committed = json.loads(QUALITY.read_text(encoding="utf-8"))["hard_cases"]["accuracy"]
    classifier = Classifier(MODELS, CLAIMS)
    fresh = hardcases.evaluate_cases(
        lambda texts: classifier.classify(texts, ["en"] * len(texts)), hardcases.load_cases()
    )["accuracy"]
    for case_type, row in committed.items():
        assert fresh[case_type]["accuracy"] == pytest.approx(row["accuracy"], abs=TOLERANCE), case_type


def test_the_artifacts_fit_the_size_budget() -> None:
    total = sum(p.stat().st_size for p in MODELS.rglob("*") if p.is_file())
    assert total <= 60 * 1024 * 1024


def test_every_scorer_records_its_auto_threshold_at_the_base_rate() -> None:
    classifier = Classifier(MODELS, CLAIMS)
    found = classifier.base_rate_thresholds()
    assert set(found) == {f"model.{s}" for s in ("hate", "abuse", "threat", "misinformation", "scam", "spam")}
    for scorer, entry in found.items():
        assert entry["base_rate"] == 0.05, scorer
        if entry["threshold"] is not None:
            assert entry["precision_lower_bound"] >= 0.95, scorer
