"""The chain lock excludes every other keeper (thread or process) and snapshots do not move under writes."""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy import func, select, text

from townsquare.db import make_engine, transaction
from townsquare.eventlog import chain_lock, events
from townsquare.eventlog.events import EventBatch
from townsquare.runtime import Runtime


def _one_batch(rt: Runtime, tag: str) -> None:
    with transaction(rt.sessions) as session:
        events.record(session, "test.x", actor="t", subject_type="s", subject_id=tag, at=rt.now())


def _someone_else_could_lock(rt: Runtime) -> bool:
    """Could another process take the chain lock right now (asked without waiting)?"""
    if rt.engine.dialect.name == "postgresql":
        with rt.engine.connect() as conn:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": chain_lock.LOCK_KEY}).scalar()
            )
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": chain_lock.LOCK_KEY})
            return got
    path = chain_lock.lock_file(rt.engine)
    assert path is not None
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing the descriptor drops a lock it took
    return True


def test_the_lock_is_exclusive_across_connections_and_released_early_or_at_the_end(rt: Runtime) -> None:
    assert _someone_else_could_lock(rt)
    with chain_lock.held(rt.engine) as lock:
        assert not _someone_else_could_lock(rt)
        lock.release()
        assert _someone_else_could_lock(rt)
    with chain_lock.held(rt.engine):
        assert not _someone_else_could_lock(rt)
    assert _someone_else_could_lock(rt)


def test_a_second_keeper_waits_for_the_first(rt: Runtime) -> None:
    order: list[str] = []
    entered = threading.Event()

    def second() -> None:
        entered.set()
        with chain_lock.held(rt.engine):
            order.append("second")

    with chain_lock.held(rt.engine):
        t = threading.Thread(target=second)
        t.start()
        entered.wait(5)
        t.join(0.3)  # it cannot get in while the first holds the lock
        order.append("first")
    t.join(10)
    assert order == ["first", "second"]


def test_the_sqlite_lock_file_sits_beside_the_database_and_is_private(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with chain_lock.held(engine):
            path = tmp_path / "x.db-chainlock"
            assert chain_lock.lock_file(engine) == path
            assert path.stat().st_mode & 0o777 == 0o600
    finally:
        engine.dispose()


def test_a_snapshot_does_not_see_what_commits_after_it_started(rt: Runtime) -> None:
    _one_batch(rt, "a")
    count = select(func.count(EventBatch.id))
    with chain_lock.read_snapshot(rt.engine) as session:
        assert session.scalar(count) == 1
        _one_batch(rt, "b")  # another connection commits meanwhile
        assert session.scalar(count) == 1
    with chain_lock.read_snapshot(rt.engine) as session:
        assert session.scalar(count) == 2
