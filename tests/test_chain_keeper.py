"""The service keeps the chain sealed and checkpointed in the background."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import TOKEN, seed_admin
from tests.fixtures.factories import account, post
from tests.test_events import _drop_triggers, _rehash_tail, _write
from townsquare.app import create_app
from townsquare.cli.ingest import ingest_file
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.eventlog import chain, events
from townsquare.eventlog.events import Checkpoint
from townsquare.runtime import Runtime, build_runtime


def test_keeper_seals_while_serving_and_checkpoints_on_shutdown(settings: Settings) -> None:
    fast = settings.model_copy(update={"seal_interval_s": 0.05, "checkpoint_interval_s": 0.1})
    rt: Runtime = build_runtime(fast)
    seed_admin(rt)
    app = create_app(runtime=rt)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.post("/v1/accounts", json=account()).status_code == 201
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with rt.engine.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM chain_links").scalar():
                    break
            time.sleep(0.05)
    result = chain.verify(rt)
    assert result.ok
    assert result.head_seq >= 2
    assert result.checkpoints >= 1
    rt.dispose()


def _one_batch(rt: Runtime, n: int = 1) -> None:
    for _ in range(n):
        with transaction(rt.sessions) as session:
            events.record(session, "test.x", actor="t", subject_type="s", subject_id="1", at=rt.now())


def _signed(rt: Runtime) -> list[int]:
    with transaction(rt.sessions) as session:
        return [int(s) for s in session.scalars(select(Checkpoint.seq).order_by(Checkpoint.id))]


def test_keeper_signs_a_checkpoint_every_n_batches(settings: Settings) -> None:
    every3 = settings.model_copy(update={"checkpoint_every_batches": 3, "checkpoint_interval_s": 3600.0})
    rt = build_runtime(every3)
    keeper = chain.ChainKeeper(rt)
    _one_batch(rt, 2)
    assert keeper.tick() is None
    _one_batch(rt)
    assert keeper.tick()["seq"] == 3  # type: ignore[index]
    _one_batch(rt, 2)
    assert keeper.tick() is None
    assert _signed(rt) == [3]
    rt.dispose()


def test_keeper_signs_a_checkpoint_every_t_seconds_while_the_head_moves(settings: Settings) -> None:
    timed = settings.model_copy(update={"checkpoint_every_batches": 1000, "checkpoint_interval_s": 1e-6})
    rt = build_runtime(timed)
    keeper = chain.ChainKeeper(rt)
    _one_batch(rt)
    assert keeper.tick()["seq"] == 1  # type: ignore[index]
    assert keeper.tick() is None  # the head has not moved: nothing new to sign
    assert _signed(rt) == [1]
    rt.dispose()


def test_bulk_load_checkpoints_as_it_goes_not_only_at_the_end(settings: Settings, tmp_path: Path) -> None:
    every2 = settings.model_copy(
        update={"checkpoint_every_batches": 2, "checkpoint_interval_s": 3600.0, "seal_interval_s": 0.0}
    )
    rt = build_runtime(every2)
    lines = []
    for _ in range(6):  # a change of kind ends a chunk: twelve chunks, twelve transactions
        author = account()
        lines += [{"kind": "account", **author}, {"kind": "post", **post(author["platform_id"])}]
    path = tmp_path / "load.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    summary = ingest_file(rt, path, show_progress=False)
    assert summary.created["post"] == 6
    signed = _signed(rt)
    result = chain.verify(rt)
    assert result.ok, result.problems
    assert signed[-1] == result.head_seq >= 12
    assert len(signed) >= 6
    assert max(b - a for a, b in itertools.pairwise([0, *signed])) <= 2
    rt.dispose()


def test_a_rewrite_n_batches_back_is_caught_without_waiting_for_the_timer(settings: Settings) -> None:
    """The tail after the newest checkpoint is unprotected: every N batches narrows it, the timer aside."""
    every3 = settings.model_copy(update={"checkpoint_every_batches": 3, "checkpoint_interval_s": 3600.0})
    rt = build_runtime(every3)
    keeper = chain.ChainKeeper(rt)
    for _ in range(4):
        _write(rt, 1)  # one batch of three events
        keeper.tick()
    assert _signed(rt) == [3]
    _drop_triggers(rt)
    _rehash_tail(rt, 4)  # an event of batch 2, then its root and every later link, consistently
    problems = chain.verify(rt).problems
    assert problems == ["checkpoint at seq 3: chain hash differs from the signed one; history rewritten"]
    rt.dispose()


def test_a_bulk_load_that_fails_still_seals_and_signs_what_it_committed(rt: Runtime) -> None:
    def load() -> None:
        with chain.keeping(rt) as step:
            _write(rt, 2)
            step(2)
            raise RuntimeError("line 3 broke the loader")

    with pytest.raises(RuntimeError, match="line 3 broke the loader"):
        load()
    assert _signed(rt) == [2]
    assert chain.verify(rt).ok
