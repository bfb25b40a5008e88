"""`models retrain`: reviewers' decisions fold into training, the candidate is compared and registered as
shadow, putting it live takes a second person with models:publish, and rollback is one command."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_user
from tests.detection.conftest import CLAIMS, DATA, TINY_SAMPLE
from townsquare.access.service import Principal
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.detection import versions
from townsquare.detection.artifacts import ArtifactError, read_manifest
from townsquare.detection.training import retrain_flow
from townsquare.detection.training.retrain import RetrainRefused, read_labels, split_recent
from townsquare.runtime import Runtime, build_runtime

SAMPLE = TINY_SAMPLE
SPAM = [
    "WIN a free iPhone now!!! click bit.ly/win{i} and claim before midnight",
    "Cheap followers {i}k for $5, DM me now, limited offer",
    "Earn $500 a day from home, no experience, reply YES {i}",
]
HAM = [
    "saw the match last night, {i} goals and still bored",
    "anyone know a good plumber near the station? tap has leaked for {i} days",
    "finished my {i}th book this year, recommendations welcome",
]


def _quiet(_: str) -> None:
    return None


@pytest.fixture
def tiny(tiny_models: Path) -> Path:
    return tiny_models


@pytest.fixture
def live_rt(
    tiny: Path, settings: Settings, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    models = tmp_path / "models"
    shutil.copytree(tiny, models)
    monkeypatch.setenv("TOWNSQUARE_MODEL_STORE", str(tmp_path / "store"))
    s = settings.model_copy(update={"models_dir": models, "claims_dir": CLAIMS, "data_dir": DATA})
    runtime = build_runtime(s, clock=clock)
    yield runtime
    runtime.dispose()


def _labels(path: Path, n: int = 60) -> Path:
    rows = []
    for i in range(n):
        spam = i % 2 == 0
        text = (SPAM if spam else HAM)[i % 3].format(i=i)
        rows.append(
            {
                "post": f"p{i}",
                "text": text,
                "label": int(spam),
                "policy": "spam",
                "head": "spam",
                "case_id": i,
                "decided_at": f"2026-03-02T{i // 60:02d}:{i % 60:02d}:00Z",
            }
        )
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_recent_decisions_are_held_out_and_never_trained_on(tmp_path: Path) -> None:
    rows = read_labels(_labels(tmp_path / "l.jsonl", 50))
    train, recent = split_recent(rows, 0.2)
    assert len(recent) == 10
    assert len(train) == 40
    assert max(r.decided_at for r in train) < min(r.decided_at for r in recent)


def test_retrain_refuses_a_missing_file_and_a_file_with_no_labels(live_rt: Runtime, tmp_path: Path) -> None:
    with pytest.raises(RetrainRefused, match="does not exist"):
        retrain_flow.run(live_rt, tmp_path / "nope.jsonl", log=_quiet)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(RetrainRefused, match="no new labels"):
        retrain_flow.run(live_rt, empty, log=_quiet)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', encoding="utf-8")
    with pytest.raises(RetrainRefused, match="not an export-labels row"):
        retrain_flow.run(live_rt, bad, log=_quiet)


def test_a_candidate_failing_its_bars_is_refused_and_live_is_untouched(
    live_rt: Runtime, tmp_path: Path
) -> None:
    before = read_manifest(live_rt.settings.models_dir).files
    # A negative tolerance: no candidate can be as good as live plus 1.0, so the gate must refuse.
    with pytest.raises(RetrainRefused, match="candidate refused, the live model is untouched"):
        retrain_flow.run(live_rt, _labels(tmp_path / "l.jsonl"), sample=SAMPLE, log=_quiet, max_drop=-1.0)
    assert read_manifest(live_rt.settings.models_dir).files == before
    with transaction(live_rt.sessions) as session:
        assert [v.state for v in versions.list_versions(session)] == ["live"]


def test_retrain_publish_with_two_people_and_rollback(live_rt: Runtime, tmp_path: Path) -> None:
    models = live_rt.settings.models_dir
    before = read_manifest(models).files
    labels = _labels(tmp_path / "l.jsonl")
    out = retrain_flow.run(live_rt, labels, sample=SAMPLE, log=_quiet, max_drop=1.0)
    assert out["heads"] == ["spam"]
    report = json.loads(Path(out["report"]).with_suffix(".json").read_text(encoding="utf-8"))
    assert report["recent_rows"] == 12
    assert report["trained_rows"] == 48
    assert report["heads"]["spam"]["candidate"]["recent"]["n"] == 12
    assert read_manifest(models).files == before  # shadow: live untouched
    with pytest.raises(RetrainRefused, match="no new labels"):
        retrain_flow.run(live_rt, labels, sample=SAMPLE, log=_quiet, max_drop=1.0)

    seed_user(live_rt, "ana", ["policy_publisher"], token="tok-ana")
    seed_user(live_rt, "ben", ["policy_publisher"], token="tok-ben")
    seed_user(live_rt, "mod", ["moderator"], token="tok-mod")
    with transaction(live_rt.sessions) as session:
        ana = Principal(actor="user:ana", permissions=frozenset({"models:publish"}))
        approval = versions.request_publish(session, live_rt, ana, out["name"], "fresh reviewer labels")
        approval_id = approval.id
    app = create_app(runtime=live_rt, keep_chain=False)
    with TestClient(app) as c:
        refused = c.post(
            f"/v1/approvals/{approval_id}/approve",
            json={"reason": "ok"},
            headers={"Authorization": "Bearer tok-mod"},
        )
        assert refused.status_code == 403
        own = c.post(
            f"/v1/approvals/{approval_id}/approve",
            json={"reason": "ok"},
            headers={"Authorization": "Bearer tok-ana"},
        )
        assert own.status_code in (403, 409)
        assert read_manifest(models).files == before
        ok = c.post(
            f"/v1/approvals/{approval_id}/approve",
            json={"reason": "ok"},
            headers={"Authorization": "Bearer tok-ben"},
        )
        assert ok.status_code == 200, ok.text
    after = read_manifest(models).files
    assert after["fast/spam.npz"] != before["fast/spam.npz"]
    with transaction(live_rt.sessions) as session:
        states = {v.name: v.state for v in versions.list_versions(session)}
        assert states[out["name"]] == "live"
        result = versions.rollback(session, live_rt, "cli:operator", "precision dropped")
    assert result["previous"] == out["name"]
    assert read_manifest(models).files == before


def test_a_corrupt_stored_version_is_refused_before_anyone_is_asked(live_rt: Runtime, tmp_path: Path) -> None:
    out = retrain_flow.run(live_rt, _labels(tmp_path / "l.jsonl"), sample=SAMPLE, log=_quiet, max_drop=1.0)
    with transaction(live_rt.sessions) as session:
        row = versions.by_name(session, out["name"])
        (Path(row.path) / "fast" / "spam.npz").write_bytes(b"corrupt")
    before = read_manifest(live_rt.settings.models_dir).files
    who = Principal(actor="cli:operator", permissions=frozenset())
    with transaction(live_rt.sessions) as session:
        with pytest.raises(ArtifactError, match="does not match"):
            versions.request_publish(session, live_rt, who, out["name"], "try")
    assert read_manifest(live_rt.settings.models_dir).files == before


def test_retrain_refuses_a_corrupt_live_model(live_rt: Runtime, tmp_path: Path) -> None:
    (live_rt.settings.models_dir / "fast" / "hate.npz").write_bytes(b"corrupt")
    with pytest.raises(ArtifactError, match="does not match"):
        retrain_flow.run(live_rt, _labels(tmp_path / "l.jsonl"), sample=SAMPLE, log=_quiet)
