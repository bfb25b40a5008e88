"""Sealing and verification under real concurrency: writer threads and processes, several sealers at once.

Each writer and sealer has its own database connections; the other processes are real OS processes
(`tests.fixtures.chain_worker`) running the same code paths as the CLI and the service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import TOKEN, seed_admin
from tests.fixtures.chain_worker import write_batches
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.eventlog import chain
from townsquare.eventlog.events import EventBatch
from townsquare.runtime import Runtime, build_runtime

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def live(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the real clock, like the worker processes beside it (their events interleave)."""
    fast = settings.model_copy(update={"seal_interval_s": 0.02, "checkpoint_interval_s": 0.2})
    runtime = build_runtime(fast)
    yield runtime
    runtime.dispose()


def _spawn(settings: Settings, mode: str, rounds: int, tag: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "TOWNSQUARE_DATABASE_URL": settings.database_url,
            "TOWNSQUARE_SIGNING_KEY_PATH": str(settings.signing_key_path),
            "TOWNSQUARE_CHECKPOINT_LOG_PATH": str(settings.checkpoint_log_path),
            "TOWNSQUARE_LINK_KEY_PATH": str(settings.link_key_path),
            "TOWNSQUARE_WEBHOOK_SECRET_PATH": str(settings.webhook_secret_path),
            "TOWNSQUARE_DATA_DIR": str(settings.data_dir),
            "TOWNSQUARE_MODELS_ENABLED": "false",
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.chain_worker", mode, str(rounds), tag],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _report(proc: subprocess.Popen[str]) -> dict[str, list[str]]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-2000:]
    report: dict[str, list[str]] = json.loads(out.strip().splitlines()[-1])
    return report


def _writers(rt: Runtime, count: int, rounds: int) -> list[threading.Thread]:
    threads = [
        threading.Thread(target=write_batches, args=(rt, rounds, f"thread{n}"), daemon=True)
        for n in range(count)
    ]
    for t in threads:
        t.start()
    return threads


def _batches(rt: Runtime) -> int:
    with transaction(rt.sessions) as session:
        return int(session.scalar(select(func.count(EventBatch.id))) or 0)


def test_sealers_in_other_processes_never_collide_and_never_cry_wolf(
    live: Runtime, settings: Settings
) -> None:
    """The CLI and the service sealing at once: no duplicate seq, no batch 'not on the chain'."""
    write_batches(live, 2, "before")
    live.settings.checkpoint_log_path.parent.mkdir(parents=True, exist_ok=True)
    procs = [_spawn(settings, "keep", 8, "k1"), _spawn(settings, "keep", 8, "k2")]
    procs.append(_spawn(settings, "write", 60, "w1"))
    threads = _writers(live, 2, 60)
    problems: list[str] = []
    rounds = 0
    while any(p.poll() is None for p in procs) or any(t.is_alive() for t in threads):
        result = chain.verify(live)
        problems += result.problems
        rounds += 1
    for t in threads:
        t.join()
    reports = [_report(p) for p in procs]
    assert [r["errors"] for r in reports] == [[], [], []]
    assert [r["problems"] for r in reports] == [[], [], []]
    assert problems == [], f"{len(problems)} false alarm(s) in {rounds} verifications: {problems[:3]}"
    final = chain.verify(live)
    assert final.ok, final.problems
    assert (final.head_seq, final.pending) == (_batches(live), 0)
    assert final.checkpoints >= 1


def test_api_verify_under_writes_is_always_ok_and_status_keeps_no_false_result(live: Runtime) -> None:
    """POST /v1/audit/verify while writers commit and the service's keeper seals: ok every time."""
    seed_admin(live)
    app = create_app(runtime=live)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        threads = _writers(live, 3, 40)
        answers = []
        for _ in range(12):
            resp = client.post("/v1/audit/verify")
            assert resp.status_code == 200, resp.text
            answers.append(resp.json())
            status = client.get("/v1/audit/status").json()
            assert status["last_verification"]["ok"] is True, status["last_verification"]
        for t in threads:
            t.join()
    bad = [a["problems"] for a in answers if not a["ok"]]
    assert bad == [], f"ok:false in {len(bad)} of 12 calls: {bad[:2]}"
    assert chain.verify(live).ok
