"""Warming a runtime compiles what the first post needs and stores nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.detection import textbanks
from townsquare.eventlog.events import Event
from townsquare.pipeline.warm import warm
from townsquare.runtime import Runtime


def _counts(rt: Runtime) -> tuple[int, int]:
    with transaction(rt.sessions) as session:
        posts = session.scalar(select(func.count()).select_from(Post)) or 0
        events = session.scalar(select(func.count()).select_from(Event)) or 0
    return posts, events


def test_warm_compiles_the_live_banks_and_stores_nothing(rt: Runtime) -> None:
    before = _counts(rt)
    textbanks._SETS.clear()
    warm(rt)
    live = tuple(id(s.bank) for s in rt.scorers)
    assert live in textbanks._SETS  # the index the first post's scan will use is built
    assert _counts(rt) == before
