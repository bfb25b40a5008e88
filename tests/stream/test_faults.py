"""Fault tests with real worker processes, a real Redis and PostgreSQL.

The workers are OS processes forked from the test (so they start at once instead of importing the
whole application again), each with its own database and Redis connections, running what
`townsquare worker` runs: the stream worker and the chain keeper.

Each test sends accounts and posts (every fourth post a scam that is removed), breaks something while
`townsquare worker` processes run, and then checks: every post stored once, decided once, no action
twice, nothing left pending, and the event chain verifies. They run on PostgreSQL on either test
backend (on SQLite runs, in a database of their own at TOWNSQUARE_TEST_POSTGRES_URL).
"""

from __future__ import annotations

import faulthandler
import logging
import multiprocessing
import os
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.conftest import BACKEND, PG_URL, _fresh_postgres
from tests.stream.conftest import RedisServer, stream_settings
from tests.stream.helpers import chain_ok, exactly_once, records
from townsquare.cli.db import upgrade
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.eventlog.chain import ChainKeeper
from townsquare.runtime import Runtime, build_runtime
from townsquare.stream import dead, service
from townsquare.stream.models import StreamOffset
from townsquare.stream.producer import backlog
from townsquare.stream.worker import Worker

# They need PostgreSQL on either backend; `make test` runs them once, on its PostgreSQL run.
pytestmark = pytest.mark.postgres_always
ACCOUNTS, POSTS_EACH = 4, 25  # 100 posts and 4 accounts per test


@pytest.fixture(scope="session")
def _pg_template() -> str:
    """A migrated PostgreSQL database for the fault tests of a SQLite run."""
    if not PG_URL:
        pytest.fail("the stream fault tests need PostgreSQL: set TOWNSQUARE_TEST_POSTGRES_URL")
    url = make_url(PG_URL)
    name = f"ts_stream_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade(test_url)
    return test_url


@pytest.fixture
def pg(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """This test's settings on PostgreSQL."""
    if BACKEND == "postgres":
        return settings
    url: str = request.getfixturevalue("_pg_template")
    _fresh_postgres(url)
    return settings.model_copy(update={"database_url": url})


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may restart."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


_FORK = multiprocessing.get_context("fork")
Proc = multiprocessing.process.BaseProcess


def _worker_main(settings: Settings, name: str, log_path: str) -> None:
    """The body of a worker process: what `townsquare worker` runs, with its own connections."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s", force=True
    )
    faulthandler.register(signal.SIGUSR1)
    code = 0
    try:
        rt = build_runtime(settings)
        worker = Worker(rt, name=name)
        signal.signal(signal.SIGTERM, lambda *_: worker.stop())
        keeper = ChainKeeper(rt)
        keeper.start()
        print(f"worker {name} started", flush=True)
        worker.run()
        keeper.stop()
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        os._exit(code)  # never the parent's (pytest's) exit handlers


class Cluster:
    """Worker processes on one database and Redis, and the runtime the test checks with."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        self.settings = settings
        self.folder = folder
        self.rt: Runtime = build_runtime(settings)
        self.procs: dict[str, Proc] = {}

    def start(self, name: str) -> Proc:
        """A worker process, forked from this one (its imports done: it starts in a moment)."""
        proc = _FORK.Process(
            target=_worker_main, args=(self.settings, name, str(self.folder / f"{name}.log"))
        )
        proc.start()
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-6000:]

    def applied(self) -> int:
        with transaction(self.rt.sessions) as session:
            return int(session.scalar(select(func.count()).select_from(StreamOffset)) or 0)

    def client(self) -> redis.Redis:
        return service.producer(self.settings).client

    def drained(self) -> bool:
        per = backlog(self.client(), self.settings)
        return not any(v["lag"] or v["pending"] for v in per.values())

    def send(self, items: list[tuple[str, dict[str, object]]]) -> None:
        """Append, retrying while Redis restarts."""
        for attempt in range(100):
            try:
                service.enqueue(self.rt, items, "test:platform")
                return
            except Exception:
                if attempt == 99:
                    raise
                time.sleep(0.1)

    def wait(self, what: Callable[[], bool], seconds: float, why: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if what():
                    return
            except (redis.RedisError, OSError):
                pass
            for name, p in self.procs.items():
                assert p.exitcode in (None, 0, -9, -15), self.log(name)
            time.sleep(0.1)
        for p in self.procs.values():
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGUSR1)  # the worker prints its threads' stacks
        time.sleep(1)
        logs = "\n".join(f"--- {n}\n{self.log(n)}" for n in self.procs)
        try:
            state = str(backlog(self.client(), self.settings))
        except redis.RedisError as exc:
            state = repr(exc)
        raise AssertionError(f"timed out waiting: {why}; applied {self.applied()}; {state}\n{logs}")

    def stop(self) -> None:
        for p in self.procs.values():
            if p.is_alive() and p.pid:
                os.kill(p.pid, signal.SIGCONT)
                p.terminate()
        for name, p in self.procs.items():
            p.join(timeout=20)
            if p.is_alive():
                p.kill()
                raise AssertionError(f"worker {name} did not stop\n{self.log(name)}")
        self.rt.dispose()

    def check(self, posts: int) -> None:
        """Nothing lost, nothing twice, nothing pending, and the chain verifies."""
        assert self.drained()
        exactly_once(self.rt, posts)
        chain_ok(self.rt)


@pytest.fixture
def cluster_on(pg: Settings, tmp_path: Path) -> Iterator[Callable[[str], Cluster]]:
    made: list[Cluster] = []

    def make(redis_url: str) -> Cluster:
        c = Cluster(stream_settings(pg, redis_url, stream_batch=20, stream_max_deliveries=4), tmp_path)
        made.append(c)
        return c

    yield make
    for c in made:
        for p in c.procs.values():
            if p.is_alive():
                p.kill()
                p.join(5)


TOTAL = ACCOUNTS + ACCOUNTS * POSTS_EACH


def test_a_worker_killed_mid_batch_loses_nothing(
    cluster_on: Callable[[str], Cluster], redis_server: RedisServer
) -> None:
    c = cluster_on(redis_server.url)
    c.send(records(ACCOUNTS, POSTS_EACH, "k"))
    first = c.start("w1")
    c.wait(lambda: c.applied() >= 15, 60, "the first worker to apply some")
    os.kill(first.pid or 0, signal.SIGKILL)
    first.join()
    c.start("w2")  # claims w1's pending messages once they are idle
    c.wait(lambda: c.applied() == TOTAL and c.drained(), 90, "the second worker to finish")
    c.stop()
    c.check(ACCOUNTS * POSTS_EACH)


def test_a_redis_restart_loses_nothing(cluster_on: Callable[[str], Cluster], own_redis: RedisServer) -> None:
    c = cluster_on(own_redis.url)
    items = records(ACCOUNTS, POSTS_EACH, "r")
    c.send(items[: len(items) // 2])
    c.start("w1")
    c.wait(lambda: c.applied() >= 15, 60, "the worker to apply some")
    own_redis.stop()
    time.sleep(1.0)  # the worker backs off meanwhile
    own_redis.start()
    c.send(items[len(items) // 2 :])
    c.wait(lambda: c.applied() == TOTAL and c.drained(), 90, "the worker to finish after the restart")
    c.stop()
    c.check(ACCOUNTS * POSTS_EACH)


def test_dropped_database_connections_lose_nothing(
    cluster_on: Callable[[str], Cluster], redis_server: RedisServer
) -> None:
    c = cluster_on(redis_server.url)
    c.send(records(ACCOUNTS, POSTS_EACH, "p"))
    c.start("w1")
    name = make_url(c.settings.database_url).database
    drops = 0
    admin = create_engine(c.settings.database_url, isolation_level="AUTOCOMMIT")
    deadline = time.monotonic() + 60
    while c.applied() < TOTAL and drops < 4 and time.monotonic() < deadline:
        if c.applied() >= 10 + 15 * drops:
            with admin.connect() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = :db AND pid <> pg_backend_pid()"
                    ),
                    {"db": name},
                ).scalar()
            drops += 1 if killed else 0
        time.sleep(0.05)
    admin.dispose()
    assert drops >= 1
    c.wait(lambda: c.applied() == TOTAL and c.drained(), 90, "the worker to finish after the drops")
    c.stop()
    c.check(ACCOUNTS * POSTS_EACH)


def test_two_workers_on_the_same_messages_apply_them_once(
    cluster_on: Callable[[str], Cluster], redis_server: RedisServer
) -> None:
    c = cluster_on(redis_server.url)
    c.send(records(ACCOUNTS, POSTS_EACH, "t"))
    first = c.start("w1")

    def holding(name: str) -> bool:
        for n in range(c.settings.stream_shards):
            summary = c.client().xpending(f"{c.settings.stream_prefix}:{n}", c.settings.stream_group)
            if any(x["name"] == name for x in summary.get("consumers") or []):
                return True
        return False

    c.wait(lambda: c.applied() >= 10 and holding("w1"), 60, "the first worker to hold messages")
    os.kill(first.pid or 0, signal.SIGSTOP)  # frozen mid-batch: its leases lapse, its messages go idle
    c.start("w2")  # takes the shards and claims the same messages
    # w2 may wait on rows w1's open transaction holds; either way it now holds w1's messages.
    c.wait(lambda: holding("w2"), 60, "the second worker to claim the frozen worker's messages")
    time.sleep(0.5)
    os.kill(first.pid or 0, signal.SIGCONT)  # w1 finishes the batch it held: it must change nothing
    c.wait(lambda: c.applied() == TOTAL and c.drained(), 90, "both workers to finish")
    c.stop()
    c.check(ACCOUNTS * POSTS_EACH)


def test_a_poison_message_is_dead_lettered_and_the_rest_applied(
    cluster_on: Callable[[str], Cluster], redis_server: RedisServer
) -> None:
    c = cluster_on(redis_server.url)
    items = records(ACCOUNTS, POSTS_EACH, "x")
    c.send(items[: ACCOUNTS + 20])
    c.send([("edit", {"platform_id": "x-never", "author": "x-acct-0", "text": "edited"})])
    c.client().xadd(f"{c.settings.stream_prefix}:1", {"kind": "post", "account": "x", "body": "{not json"})
    c.send(items[ACCOUNTS + 20 :])
    c.start("w1")
    c.wait(lambda: c.applied() == TOTAL and c.drained(), 90, "the worker to apply all but the poison")
    c.stop()
    items_dead = dead.entries(c.client(), c.settings)
    assert sorted(str(d["kind"]) for d in items_dead) == ["edit", "post"]
    assert all(d["error"] for d in items_dead)
    c.check(ACCOUNTS * POSTS_EACH)
