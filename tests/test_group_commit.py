"""Group commit (`db.GroupCommit`): callers that arrive while a run is in progress share the next run.

Deterministic: the first run blocks on an event until the other callers are known to be waiting, so
which items share a run is fixed, not left to thread timing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from townsquare.db import GroupCommit


class Recorder:
    """A `run` that records each group; the first call blocks until released; "bad" items break runs."""

    def __init__(self) -> None:
        self.groups: list[list[str]] = []
        self.first_started = threading.Event()
        self.release = threading.Event()
        self.threads: set[int] = set()

    def __call__(self, items: list[str]) -> list[str]:
        self.groups.append(list(items))
        self.threads.add(threading.get_ident())
        if len(self.groups) == 1:
            self.first_started.set()
            assert self.release.wait(10)
        if "bad" in items:
            raise ValueError("a bad item breaks its run")
        return [f"done:{i}" for i in items]


def _submit_all(
    gc: GroupCommit[str, str], run: Recorder, calls: list[tuple[str, str]]
) -> tuple[dict[str, str], dict[str, BaseException], Callable[[], None]]:
    """Start the first call, wait until it runs, start the rest and wait until they all queue."""
    results: dict[str, str] = {}
    errors: dict[str, BaseException] = {}

    def call(key: str, item: str) -> None:
        try:
            results[item] = gc.submit(key, item, run)
        except BaseException as exc:
            errors[item] = exc

    threads = [threading.Thread(target=call, args=calls[0])]
    threads[0].start()
    assert run.first_started.wait(10)
    for key, item in calls[1:]:
        t = threading.Thread(target=call, args=(key, item))
        t.start()
        threads.append(t)
    deadline = time.monotonic() + 10
    while len(gc._waiting) < len(calls) - 1:  # every later caller is queued behind the first run
        assert time.monotonic() < deadline, "the callers did not queue"
        time.sleep(0.01)

    def finish() -> None:
        run.release.set()
        for t in threads:
            t.join(10)
            assert not t.is_alive()

    return results, errors, finish


def test_a_caller_alone_runs_at_once_in_its_own_thread() -> None:
    gc: GroupCommit[str, str] = GroupCommit(limit=8)
    run = Recorder()
    run.release.set()
    assert gc.submit("actor", "a", run) == "done:a"
    assert run.groups == [["a"]]
    assert run.threads == {threading.get_ident()}


def test_callers_arriving_during_a_run_share_the_next_one_by_key() -> None:
    gc: GroupCommit[str, str] = GroupCommit(limit=8)
    run = Recorder()
    calls = [("p", "a"), ("p", "b"), ("q", "x"), ("p", "c"), ("p", "d")]
    results, errors, finish = _submit_all(gc, run, calls)
    finish()
    assert errors == {}
    assert results == {item: f"done:{item}" for _, item in calls}
    # a ran alone; then b, c and d (key p) together, in arrival order; x (key q) never with them.
    assert run.groups[0] == ["a"]
    assert sorted(run.groups[1:], key=len) == [["x"], ["b", "c", "d"]]
    assert not gc._leading
    assert not gc._waiting


def test_a_group_is_at_most_limit_items() -> None:
    gc: GroupCommit[str, str] = GroupCommit(limit=2)
    run = Recorder()
    calls = [("p", "a"), ("p", "b"), ("p", "c"), ("p", "d"), ("p", "e")]
    results, errors, finish = _submit_all(gc, run, calls)
    finish()
    assert len(results) == 5
    assert errors == {}
    assert run.groups == [["a"], ["b", "c"], ["d", "e"]]


def test_an_item_that_breaks_its_group_fails_alone() -> None:
    gc: GroupCommit[str, str] = GroupCommit(limit=8)
    run = Recorder()
    calls = [("p", "a"), ("p", "b"), ("p", "bad"), ("p", "c")]
    results, errors, finish = _submit_all(gc, run, calls)
    finish()
    assert results == {"a": "done:a", "b": "done:b", "c": "done:c"}
    assert list(errors) == ["bad"]
    assert isinstance(errors["bad"], ValueError)
    # The group of three failed, then each of its items ran on its own.
    assert run.groups == [["a"], ["b", "bad", "c"], ["b"], ["bad"], ["c"]]


def test_a_lone_failure_is_raised_to_its_caller_and_the_next_caller_still_runs() -> None:
    gc: GroupCommit[str, str] = GroupCommit(limit=8)
    run = Recorder()
    run.release.set()
    with pytest.raises(ValueError, match="breaks its run"):
        gc.submit("p", "bad", run)
    assert gc.submit("p", "a", run) == "done:a"


def test_many_threads_each_get_their_own_result() -> None:
    gc: GroupCommit[int, int] = GroupCommit(limit=16)
    sizes: list[int] = []

    def run(items: list[int]) -> list[int]:
        sizes.append(len(items))
        time.sleep(0.002)
        return [i * i for i in items]

    out: dict[int, int] = {}

    def call(i: int) -> None:
        for k in range(20):
            n = i * 100 + k
            out[n] = gc.submit("p", n, run)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert out == {n: n * n for n in out}
    assert len(out) == 160
    assert sum(sizes) == 160
    assert max(sizes) <= 16
