"""Open many review cases at once, straight into the tables (for the workbench benchmark and tests that
need a long queue). Cases opened here carry no events; everything else reads them like any other."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post
from townsquare.review.models import Case
from townsquare.runtime import Runtime

LANGUAGES = ("en", "en", "en", "es", "de", "fr")


def seed_cases(
    session: Session,
    rt: Runtime,
    n: int,
    *,
    queue: str = "threats",
    policy: str = "harassment_threats",
    texts: Sequence[str] = ("I will find you and hurt you",),
    prefix: str = "seed",
    protected_every: int = 0,
    authors: int = 0,
) -> list[int]:
    """Open `n` post cases in `queue`, each post by its own author (or `authors` shared ones), with
    varied priority, age, views, languages and report counts; every `protected_every`-th author is
    protected. Returns the case ids."""
    now = rt.now()
    n_authors = authors or n
    session.execute(
        insert(Account),
        [
            {
                "platform_id": f"{prefix}-acct-{i}",
                "handle": f"{prefix}_user{i}",
                "display_name": f"Seeded user {i}",
                "created_at": now - timedelta(days=400),
                "ingested_at": now - timedelta(days=400),
                "follower_count": (i * 37) % 5000,
                "protected": bool(protected_every) and i % protected_every == 0,
            }
            for i in range(n_authors)
        ],
    )
    accounts: dict[str, int] = {
        pid: aid
        for pid, aid in session.execute(
            select(Account.platform_id, Account.id).where(Account.platform_id.like(f"{prefix}-acct-%"))
        )
    }
    text = itertools.cycle(texts)
    session.execute(
        insert(Post),
        [
            {
                "platform_id": f"{prefix}-post-{i}",
                "author_id": accounts[f"{prefix}-acct-{i % n_authors}"],
                "text": next(text),
                "language": LANGUAGES[i % len(LANGUAGES)],
                "created_at": now - timedelta(minutes=i),
                "ingested_at": now - timedelta(minutes=i),
                "views": (i * 7919) % 100_000,
            }
            for i in range(n)
        ],
    )
    posts: dict[str, int] = {
        pid: post_id
        for pid, post_id in session.execute(
            select(Post.platform_id, Post.id).where(Post.platform_id.like(f"{prefix}-post-%"))
        )
    }
    rows: list[dict[str, Any]] = []
    for i in range(n):
        rows.append(
            {
                "subject_type": "post",
                "post_id": posts[f"{prefix}-post-{i}"],
                "account_id": accounts[f"{prefix}-acct-{i % n_authors}"],
                "post_version": 1,
                "kind": "review",
                "queue": queue,
                "state": "open",
                "opened_reason": "classifier",
                "reasons": ["score_above_review_threshold"],
                "policy": policy,
                "severity": "high",
                "score": 0.5 + (i % 50) / 100,
                "priority": round(((i * 2654435761) % 10_000) / 100, 2),
                "priority_inputs": {"severity": 3},
                "report_count": i % 7,
                "report_reasons": [],
                "trusted_flagger": False,
                "opened_at": now - timedelta(minutes=i * 3),
                "excluded_reviewers": [],
                "revision": 1,
            }
        )
    session.execute(insert(Case), rows)
    session.flush()
    return list(session.scalars(select(Case.id).where(Case.post_id.in_(posts.values())).order_by(Case.id)))
