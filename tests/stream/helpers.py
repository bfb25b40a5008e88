"""Checks shared by the stream tests: everything applied exactly once, and the chain verifies."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.enforcement.models import Action
from townsquare.eventlog import chain
from townsquare.eventlog.events import Event
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime
from townsquare.stream.models import StreamOffset

SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"
TEXTS = [
    "Lovely weather at the lake today.",
    "Our bakery opens at nine, fresh rye bread on Saturdays.",
    SCAM,
    "The match last night went to penalties, what a finish.",
]


def records(accounts: int, posts_each: int, tag: str = "a") -> list[tuple[str, dict[str, Any]]]:
    """(kind, body) messages: each account, then its posts (every fourth a scam, which is removed)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for a in range(accounts):
        pid = f"{tag}-acct-{a}"
        out.append(
            (
                "account",
                {
                    "platform_id": pid,
                    "handle": f"{tag}user{a}",
                    "created_at": "2024-01-01T00:00:00Z",
                    "follower_count": 10,
                },
            )
        )
    for p in range(posts_each):
        for a in range(accounts):
            n = p * accounts + a
            out.append(
                (
                    "post",
                    {
                        "platform_id": f"{tag}-post-{n}",
                        "author": f"{tag}-acct-{a}",
                        "text": f"{TEXTS[n % len(TEXTS)]} #{n}",
                        "language": "en",
                        "created_at": "2026-03-02T11:00:00Z",
                    },
                )
            )
    return out


def exactly_once(rt: Runtime, expected_posts: int) -> dict[str, int]:
    """Every post stored once with one ingest verdict and at most one action; no event twice."""
    with transaction(rt.sessions) as session:
        posts = session.scalar(select(func.count()).select_from(Post)) or 0
        created = Counter(session.scalars(select(Event.subject_id).where(Event.type == "post.created")).all())
        verdicts = Counter(
            session.scalars(select(Verdict.post_id).where(Verdict.mode == "live", Verdict.post_version == 1))
        )
        actions = Counter(session.scalars(select(Action.verdict_id)))
        offsets = session.scalar(select(func.count()).select_from(StreamOffset)) or 0
    assert posts == expected_posts, f"{posts} posts stored, {expected_posts} sent"
    assert len(created) == expected_posts, f"{len(created)} posts have a post.created event"
    assert max(created.values(), default=1) == 1, "a post.created twice"
    assert len(verdicts) == expected_posts, f"{len(verdicts)} posts decided"
    assert max(verdicts.values(), default=1) == 1, "a post decided twice"
    assert max(actions.values(), default=1) == 1, "an action applied twice"
    return {"posts": posts, "actions": sum(actions.values()), "offsets": offsets}


def chain_ok(rt: Runtime) -> None:
    """`audit verify` finds nothing wrong."""
    result = chain.verify(rt)
    assert result.ok, result.problems[:5]
