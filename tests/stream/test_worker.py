"""Stream ingest in one process: producer, worker, idempotence, order, dead letters, backpressure."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tests.stream.helpers import SCAM, chain_ok, exactly_once, records
from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.eventlog.events import Event
from townsquare.runtime import Runtime
from townsquare.stream import dead, keys, process, service
from townsquare.stream.producer import Backpressure, backlog
from townsquare.stream.worker import Worker


def drain(w: Worker, seconds: float = 20.0) -> None:
    """Step the worker until the backlog is empty (or fail after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        w.step()
        per = backlog(w.client, w.s)
        if not any(v["lag"] or v["pending"] for v in per.values()):
            return
    raise AssertionError(f"backlog not drained: {backlog(w.client, w.s)}")


def test_posts_are_decided_and_stored_once(srt: Runtime) -> None:
    service.enqueue(srt, records(3, 4), "test:platform")
    w = Worker(srt, name="w1")
    drain(w)

    counts = exactly_once(srt, 12)
    assert counts["actions"] == 3  # every fourth post is a scam and is removed
    assert counts["offsets"] == 15  # 3 accounts and 12 posts
    chain_ok(srt)


def test_an_account_edits_and_deletion_apply_in_order(srt: Runtime) -> None:
    items = records(1, 1, tag="o")
    items += [
        ("edit", {"platform_id": "o-post-0", "author": "o-acct-0", "text": SCAM}),
        ("metrics", {"post": "o-post-0", "views": 500, "observed_at": "2026-03-02T11:05:00Z"}),
        ("report", {"platform_id": "r-1", "subject_type": "post", "subject": "o-post-0", "reason": "spam"}),
        ("delete", {"platform_id": "o-post-0", "reason": "author deleted it"}),
    ]
    sent = service.enqueue(srt, items, "test:platform")
    assert len({a.shard for a in sent}) == 1  # one account: one shard, so one order
    drain(Worker(srt, name="w1"))

    with transaction(srt.sessions) as session:
        post = session.scalars(select(Post).where(Post.platform_id == "o-post-0")).one()
        assert (post.version, post.status, post.views) == (2, "deleted", 500)
        types = session.scalars(
            select(Event.type).where(Event.subject_id == "o-post-0").order_by(Event.id)
        ).all()
    assert types.index("post.edited") < types.index("report.received") < types.index("post.deleted")


def test_a_redelivered_message_changes_nothing(srt: Runtime) -> None:
    [acct, post] = service.enqueue(srt, records(1, 1, tag="d"), "test:platform")
    w = Worker(srt, name="w1")
    entries = w.client.xrange(post.stream, min=post.id, max=post.id)
    drain(w)
    with transaction(srt.sessions) as session:
        before = session.scalar(select(func.count()).select_from(Event))
    again = [keys.Message.parse(post.stream, i, f) for i, f in entries]
    assert [o.status for o in process.apply(srt, again)] == ["done"]
    with transaction(srt.sessions) as session:
        assert session.scalar(select(func.count()).select_from(Event)) == before
    exactly_once(srt, 1)


def test_a_poison_message_goes_to_the_dead_letter_stream_and_retries_once(srt: Runtime) -> None:
    good = records(1, 2, tag="p")
    service.enqueue(srt, good[:2], "test:platform")
    # An edit of a post that never arrives fails every time (retried, then dead-lettered).
    service.enqueue(srt, [("edit", {"platform_id": "p-nothing", "author": "p-acct-0", "text": "x"})], "t")
    service.enqueue(srt, good[2:], "test:platform")
    # A post whose author does not exist cannot apply: dead-lettered at once.
    service.enqueue(srt, [("post", {**good[1][1], "platform_id": "p-orphan", "author": "p-nobody"})], "t")
    w = Worker(srt, name="w1")
    drain(w)

    client = w.client
    items = dead.entries(client, srt.settings)
    assert sorted(i["kind"] for i in items) == ["edit", "post"]
    edit = next(i for i in items if i["kind"] == "edit")
    assert "not_found" in edit["error"]
    assert edit["deliveries"] >= 1
    exactly_once(srt, 2)  # the good posts, before and after the poison, were applied

    out = dead.retry(client, srt.settings, edit["id"])
    with pytest.raises(Exception, match="already retried"):
        dead.retry(client, srt.settings, edit["id"])
    assert dead.count(client, srt.settings) == 1
    status = service.message_status(srt, keys.shard_of_key(srt.settings, out["stream"]), out["id"])
    assert status["status"] == "queued"


def test_producers_get_503_with_retry_after_over_the_backlog_bound(srt: Runtime) -> None:
    srt.settings = srt.settings.model_copy(update={"stream_max_backlog": 3})
    service.enqueue(srt, records(1, 2, tag="b"), "t")
    service.producer(srt.settings).unprocessed(fresh=True)
    with pytest.raises(Backpressure) as refused:
        service.enqueue(srt, records(1, 1, tag="c"), "t")
    assert refused.value.status == 503
    assert refused.value.headers == {"Retry-After": str(srt.settings.stream_retry_after_s)}


def test_two_workers_share_the_shards(srt: Runtime) -> None:
    srt.settings = srt.settings.model_copy(update={"stream_lease_ms": 10_000})
    service.enqueue(srt, records(8, 3, tag="s"), "t")
    w1, w2 = Worker(srt, name="w1"), Worker(srt, name="w2")
    # w1 takes every shard, sees w2 arrive and gives back what is above half; w2 takes those.
    for w in (w1, w2, w1, w2):
        w._refresh()
    assert len(w1.shards) == len(w2.shards) == 2
    deadline = time.monotonic() + 20
    while any(v["lag"] or v["pending"] for v in backlog(w1.client, srt.settings).values()):
        w1.step()
        w2.step()
        assert time.monotonic() < deadline
    assert w1.applied
    assert w2.applied
    w1._refresh()
    w2._refresh()
    assert not set(w1.shards) & set(w2.shards)
    exactly_once(srt, 24)
    chain_ok(srt)


def test_a_worker_holding_every_busy_shard_makes_room_for_one_that_joins(
    srt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    srt.settings = srt.settings.model_copy(update={"stream_lease_ms": 10_000, "stream_shards": 8})
    service.enqueue(srt, records(8, 3, tag="r"), "t")
    w1 = Worker(srt, name="w1")
    w1._refresh()
    assert len(w1.shards) == 8  # alone, it takes every shard
    for st in w1.shards.values():
        st.recover = False
    # A pass stops processing once a lease refresh is due: what it read stays in hand, nothing applied.
    monkeypatch.setattr(w1.leases, "due", lambda: True)
    w1._read(list(w1.shards))
    monkeypatch.undo()
    busy = {n for n, st in w1.shards.items() if st.hand}
    assert len(busy) >= 5
    assert not w1.applied
    w2 = Worker(srt, name="w2")
    w2.leases.live_workers()  # a second worker joins
    w1._refresh()
    # Over its share of 4 with messages in hand: idle shards go back now, busy ones drain first.
    assert len(w1.shards) > 4
    assert len(w1.leases.draining) == len(w1.shards) - 4
    assert w1.leases.draining <= busy
    w1.step()  # applies what is in hand, reads nothing new on the draining shards
    w1.step()  # they are empty now: given back
    assert len(w1.shards) == 4
    assert not w1.leases.draining
    w2._refresh()
    assert len(w2.shards) == 4
    assert not set(w1.shards) & set(w2.shards)
    deadline = time.monotonic() + 20
    while any(v["lag"] or v["pending"] for v in backlog(w1.client, srt.settings).values()):
        w1.step()
        w2.step()
        assert time.monotonic() < deadline
    exactly_once(srt, 24)
    chain_ok(srt)


def test_small_reads_over_many_shards_are_applied_in_one_transaction(srt: Runtime) -> None:
    from townsquare.eventlog.events import EventBatch

    srt.settings = srt.settings.model_copy(update={"stream_shards": 8})
    msgs = records(8, 1, tag="g")
    service.enqueue(srt, msgs[:8], "t")  # the accounts
    w = Worker(srt, name="w1")
    drain(w)
    service.enqueue(srt, msgs[8:], "t")  # one post per account, over several shards
    shards = {keys.shard_of(str(body["author"]), 8) for _, body in msgs[8:]}
    assert len(shards) >= 3

    def batches() -> int:
        with transaction(srt.sessions) as session:
            return int(session.scalar(select(func.count()).select_from(EventBatch)) or 0)

    before = batches()
    drain(w)
    assert batches() - before == 1  # one transaction (one event batch), not one per shard
    exactly_once(srt, 8)
    chain_ok(srt)
