"""The claim verifier: a post that asserts a known claim is flagged; a correction, a true procedure or a
question that resembles it is not (the texts here are written for this test, not taken from evalsets/)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.detection.conftest import CLAIMS, DATA, MODELS, need_datasets
from townsquare.detection.artifacts import ArtifactError, Manifest, read_manifest, write_manifest
from townsquare.detection.claims import ClaimsError, claims_digest, load_claims
from townsquare.detection.claims_verify import VERIFIER_FILE, load_verifier
from townsquare.detection.classify import Classifier, signals
from townsquare.detection.semantic import load_semantic
from townsquare.detection.training import claims_verify_fit, pipeline


@pytest.fixture(scope="module")
def cascade() -> Classifier:
    semantic = load_semantic(MODELS)
    assert semantic is not None, "the committed models include the semantic tier"
    assert semantic.verifier is not None, "the committed models include the claim verifier"
    return Classifier(MODELS, CLAIMS, semantic=semantic)


def _claims(cascade: Classifier, text: str) -> list[dict[str, object]]:
    [result] = cascade.classify([text], ["en"])
    return list(result.scores["misinformation"].extra["claims"])


def test_a_paraphrase_of_a_claim_is_flagged_as_that_claim_with_its_probability(cascade: Classifier) -> None:
    text = (
        "Don't waste your time with the polls, just text the name of your guy to the short code "
        "and your vote counts."
    )
    [result] = cascade.classify([text], ["en"])
    claims = result.scores["misinformation"].extra["claims"]
    assert claims
    assert claims[0]["id"] == "ep-vote-by-text-message"
    assert claims[0]["stance"] == "asserts"
    assert cascade.semantic is not None
    assert cascade.semantic.verifier is not None
    assert claims[0]["probability"] >= cascade.semantic.verifier.threshold
    [signal] = [s for s in signals(result) if s.scorer == "claims.election"]
    assert signal.score == claims[0]["probability"]  # the signal is the verifier's probability


def test_a_correction_quoting_the_claim_is_not_flagged_as_it(cascade: Classifier) -> None:
    text = (
        "FACT CHECK: the post saying you can vote by texting your candidate's name to a short code is false. "
        "No state accepts votes by text; vote in person, by mail or at a drop box."
    )
    assert not any(c["id"] == "ep-vote-by-text-message" for c in _claims(cascade, text))


def test_a_true_procedure_is_not_flagged_as_the_claim_it_resembles(cascade: Classifier) -> None:
    text = (
        "Every provisional ballot is reviewed after election day, and each one cast by an eligible voter "
        "is counted no matter how close the race is."
    )
    assert not any(c["id"] == "ep-provisional-ballots-only-counted-if-close" for c in _claims(cascade, text))


def test_a_good_faith_question_is_not_flagged(cascade: Classifier) -> None:
    text = (
        "Is it true that mRNA vaccines can change your DNA? My dad read that and now he's scared to get one."
    )
    assert _claims(cascade, text) == []


def test_the_claims_version_names_the_verifier(cascade: Classifier) -> None:
    assert "+verifier." in cascade.versions()["claims"]


def test_a_corrupt_verifier_is_an_error_naming_the_rebuild(tmp_path: Path) -> None:
    work = tmp_path / "models"
    shutil.copytree(MODELS, work)
    (work / VERIFIER_FILE).write_bytes(b"not an npz")
    with pytest.raises(ArtifactError):
        load_semantic(work)
    assert load_semantic(work, with_verifier=False) is not None  # how the verifier is retrained


def test_a_claim_needs_no_correction_but_a_correction_must_be_text(tmp_path: Path) -> None:
    claim = {
        "id": "ep-test-claim",
        "text": "Polls close at noon on election day in every county this year.",
        "verdict": "false",
        "source": "https://example.org/fact-check",
        "language": "en",
    }
    path = tmp_path / "election_procedures.yaml"
    path.write_text(json.dumps({"topic": "election_procedures", "claims": [claim]}), encoding="utf-8")
    [loaded] = load_claims(tmp_path)
    assert loaded.correction == ""
    path.write_text(
        json.dumps({"topic": "election_procedures", "claims": [{**claim, "correction": ["x"]}]}),
        encoding="utf-8",
    )
    with pytest.raises(ClaimsError, match="correction"):
        load_claims(tmp_path)


def test_every_committed_claim_carries_its_correction_and_the_digest_covers_it() -> None:
    claims = load_claims(CLAIMS)
    assert all(c.correction for c in claims)
    assert claims_digest(claims) != claims_digest([replace(c, correction="") for c in claims])


def test_the_verifier_trains_on_dev_rows_only() -> None:
    rows = claims_verify_fit.evaluation_rows()
    heldout = {r["text"] for r in rows if r["split"] == "heldout"}
    dev = [r for r in rows if r["split"] == "dev"]
    assert heldout
    assert dev
    assert not heldout & {r["text"] for r in dev}
    assert all(r["split"] == "dev" for r in rows if r["source"] == "stance_dev")


def test_the_threshold_is_the_best_recall_at_the_target_precision() -> None:
    curve = [
        {"threshold": 0.3, "precision": 0.85, "recall": 0.9, "background_flagged": 5},
        {"threshold": 0.5, "precision": 0.91, "recall": 0.8, "background_flagged": 2},
        {"threshold": 0.6, "precision": 0.95, "recall": 0.7, "background_flagged": 1},
    ]
    assert claims_verify_fit.choose_threshold(curve)["threshold"] == 0.5
    low = [{"threshold": 0.5, "precision": 0.6, "recall": 0.5, "background_flagged": 0}]
    assert claims_verify_fit.choose_threshold(low)["threshold"] == 0.5


def test_the_api_returns_the_verifiers_probability_and_leaves_the_correction_unmatched(
    models_client: TestClient,
) -> None:
    items = [
        {
            "id": "lie",
            "text": "ICE agents are going to patrol every polling station on election day checking papers.",
        },
        {
            "id": "fix",
            "text": "No, ICE agents will not patrol polling stations on election day. Federal law keeps "
            "armed officers away from the polls and nobody there may ask about your immigration status.",
        },
    ]
    resp = models_client.post("/v1/classify", json={"items": items})
    assert resp.status_code == 200, resp.text
    lie, fix = resp.json()["results"]
    [claim] = lie["scores"]["misinformation"]["claims"][:1]
    assert claim["id"] == "ep-ice-agents-at-polling-places"
    assert claim["stance"] == "asserts"
    assert claim["probability"] is not None
    assert not any(
        c["id"] == "ep-ice-agents-at-polling-places" for c in fix["scores"]["misinformation"]["claims"]
    )


def test_training_the_verifier_writes_a_loadable_artifact_and_a_stale_one_is_refused(tmp_path: Path) -> None:
    need_datasets()
    work = tmp_path / "models"
    shutil.copytree(MODELS, work)
    pipeline.train(DATA, work, CLAIMS, only=["verifier"], sample=20, log=lambda _: None)
    semantic = load_semantic(work)
    assert semantic is not None
    assert semantic.verifier is not None
    meta = semantic.verifier.meta
    assert meta["training"]["dev_positives"] > 0
    assert 0.05 <= meta["threshold"] <= 0.95
    assert meta["cross_validated"]["grouped_by"] == "claim"
    # A verifier fitted to another semantic tier is refused, naming the command that refits it.
    m = read_manifest(work)
    files = {**m.files, "semantic/calibration.json": "0" * 64}
    write_manifest(work, Manifest(files, m.versions, m.created, m.data))
    with pytest.raises(ArtifactError, match="another semantic tier"):
        load_verifier(work)
