"""The memory index: only new rows are read, and a row committed late (a gap in seq) is not missed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from tests.brandsafety.conftest import World
from townsquare.brandsafety.index import cache_for
from townsquare.brandsafety.models import PostLabels
from townsquare.db import transaction
from townsquare.runtime import Runtime


def _row(seq: int, post_id: int, pid: str, account_id: int, status: str) -> dict[str, object]:
    return {
        "seq": seq, "post_id": post_id, "post_pid": pid, "account_id": account_id, "account_pid": "a",
        "post_version": 1, "status": status, "labels": [], "text": "", "label_version": "t", "trigger": "t",
        "recorded_at": datetime(2026, 3, 2, tzinfo=UTC),
    }  # fmt: skip


def test_a_late_commit_below_the_last_seen_seq_is_picked_up(world: World, rt: Runtime) -> None:
    a, b = world.posts["safe"], world.posts["news"]
    with transaction(rt.sessions) as session:
        cache = cache_for(session)
        ea, eb = cache.by_pid[a], cache.by_pid[b]
        top = session.scalar(select(func.max(PostLabels.seq)))
        assert top == cache.post_seq
        # A transaction that took seq top+2 commits first...
        session.execute(insert(PostLabels), [_row(top + 2, ea.post_id, a, ea.account_id, "removed")])
    with transaction(rt.sessions) as session:
        cache = cache_for(session)
        assert cache.by_pid[a].status == "removed"
        assert cache.post_seq == top + 2
        # ... and the one holding top+1 commits after the index read past it.
        session.execute(insert(PostLabels), [_row(top + 1, eb.post_id, b, eb.account_id, "demonetised")])
        session.execute(insert(PostLabels), [_row(top + 3, ea.post_id, a, ea.account_id, "visible")])
    with transaction(rt.sessions) as session:
        cache = cache_for(session)
        assert cache.by_pid[b].status == "demonetised"
        assert cache.by_pid[a].status == "visible"
    # An older state read late (a gap filled by a row of a post already past it) never overwrites a newer one.
    cache._apply_post(type("Row", (), _row(top, ea.post_id, a, ea.account_id, "deleted"))())
    assert cache.by_pid[a].status == "visible"
