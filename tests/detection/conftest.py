"""Fixtures for the detection tests: the committed models, the shared datasets, a models-on client."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, seed_admin
from townsquare.app import create_app
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.runtime import Runtime, build_runtime

MODELS = PROJECT_ROOT / "models"
CLAIMS = PROJECT_ROOT / "claims"
DATA = Path(os.environ.get("TOWNSQUARE_DATA_DIR", str(PROJECT_ROOT.parent / "shared" / "datasets")))


def need_datasets() -> None:
    """Skip (a failure under CI=true) when the shared datasets are not on this machine."""
    if not DATA.is_dir():
        pytest.skip(f"the shared datasets are not at {DATA}")


TINY_SAMPLE = 40  # rows per dataset split
TINY_BUCKETS = 2**16  # a smaller hashed space keeps the sample runs fast; the committed models use 2^20


def _quiet(_: str) -> None:
    return None


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Fast heads and claim thresholds trained on TINY_SAMPLE rows per dataset split, read-only.

    Trained once for the whole run: the pytest-xdist workers share one copy through a lock in their
    common temporary folder (the first to arrive trains, the others wait and reuse it). Tests that
    change artifacts copy the folder first.
    """
    need_datasets()
    from townsquare.detection.training import pipeline

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by every worker of this run
    done = root / "tiny-models"
    with (root / "tiny-models.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (done / "manifest.json").is_file():
            work = root / "tiny-models.partial"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            pipeline.train(
                DATA,
                work,
                CLAIMS,
                only=["fast", "claims"],
                sample=TINY_SAMPLE,
                log=_quiet,
                n_features=TINY_BUCKETS,
            )
            shutil.rmtree(done, ignore_errors=True)
            work.rename(done)
    return done


@pytest.fixture
def models_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test settings with the committed models turned on."""
    monkeypatch.setenv("TOWNSQUARE_MODELS_ENABLED", "true")
    return settings.model_copy(update={"models_enabled": True, "models_dir": MODELS, "claims_dir": CLAIMS})


@pytest.fixture
def models_rt(models_settings: Settings, clock: object) -> Iterator[Runtime]:
    """A runtime that scores with the trained models."""
    runtime = build_runtime(models_settings, clock=clock)  # type: ignore[arg-type]
    yield runtime
    runtime.dispose()


@pytest.fixture
def models_client(models_rt: Runtime) -> Iterator[TestClient]:
    """An admin HTTP client on a models-on runtime."""
    seed_admin(models_rt)
    app = create_app(runtime=models_rt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c
