"""Every content query lives here."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post, Report, ViewSnapshot
from townsquare.errors import NotFound
from townsquare.policy.models import Verdict

# Built once: these run for every ingested post, and building a statement (and its cache key) costs
# more than SQLite takes to answer it.
_ACCOUNTS_BY_PID = select(Account).where(Account.platform_id.in_(bindparam("pids", expanding=True)))
_POSTS_BY_PID = select(Post).where(Post.platform_id.in_(bindparam("pids", expanding=True)))
_POSTS_BY_ID = select(Post).where(Post.id.in_(bindparam("ids", expanding=True)))


def accounts_by_pid(session: Session, pids: Iterable[str]) -> dict[str, Account]:
    """Accounts keyed by platform id."""
    wanted = list(set(pids))
    if not wanted:
        return {}
    return {a.platform_id: a for a in session.scalars(_ACCOUNTS_BY_PID, {"pids": wanted})}


def posts_by_pid(session: Session, pids: Iterable[str]) -> dict[str, Post]:
    """Posts keyed by platform id."""
    wanted = list(set(pids))
    if not wanted:
        return {}
    return {p.platform_id: p for p in session.scalars(_POSTS_BY_PID, {"pids": wanted})}


def posts_by_id(session: Session, ids: Iterable[int]) -> dict[int, Post]:
    """Posts keyed by id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {p.id: p for p in session.scalars(_POSTS_BY_ID, {"ids": wanted})}


def account(session: Session, pid: str, *, for_update: bool = False) -> Account:
    """One account by platform id, or NotFound."""
    query = select(Account).where(Account.platform_id == pid)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound(f"no account {pid}", {"field": "account"})
    return found


def post(session: Session, pid: str, *, for_update: bool = False) -> Post:
    """One post by platform id, or NotFound."""
    query = select(Post).where(Post.platform_id == pid)
    found = session.scalar(query.with_for_update() if for_update else query)
    if found is None:
        raise NotFound(f"no post {pid}", {"field": "post"})
    return found


def reach(session: Session, post_id: int, now: datetime) -> tuple[int, float]:
    """Views so far and current velocity (views per hour) from the two latest snapshots."""
    return reach_many(session, {post_id}, now)[post_id]


def report_counts(session: Session, subject_type: str, subject_id: int) -> dict[str, int]:
    """How many reports a subject has, by reason."""
    rows = session.execute(
        select(Report.reason, func.count())
        .where(Report.subject_type == subject_type, Report.subject_id == subject_id)
        .group_by(Report.reason)
    ).all()
    return {str(r): int(n) for r, n in rows}


def report_summary(session: Session, subject_type: str, subject_id: int) -> tuple[int, list[str]]:
    """How many reports a subject has and their reasons."""
    counts = report_counts(session, subject_type, subject_id)
    return sum(counts.values()), sorted(counts)


def report_by_pid(session: Session, pid: str) -> Report | None:
    """A report by the platform's id."""
    return session.scalar(select(Report).where(Report.platform_id == pid))


def subject_of(session: Session, subject_type: str, subject_id: int) -> str | None:
    """The platform id of a report's subject (a post or an account) by its row id."""
    model = Post if subject_type == "post" else Account
    return session.scalar(select(model.platform_id).where(model.id == subject_id))


def account_pid(session: Session, account_id: int) -> str | None:
    """An account's platform id by its row id."""
    return session.scalar(select(Account.platform_id).where(Account.id == account_id))


def latest_verdict(session: Session, post_id: int) -> Verdict | None:
    """The most recent live verdict on a post."""
    return session.scalar(
        select(Verdict)
        .where(Verdict.post_id == post_id, Verdict.mode == "live")
        .order_by(Verdict.id.desc())
        .limit(1)
    )


def snapshot_keys(
    session: Session, post_ids: list[int], times: set[datetime] | None = None
) -> set[tuple[int, datetime]]:
    """(post id, observed_at) of the view snapshots already stored for these posts (at these times)."""
    if not post_ids:
        return set()
    q = select(ViewSnapshot.post_id, ViewSnapshot.observed_at).where(ViewSnapshot.post_id.in_(post_ids))
    if times is not None:
        q = q.where(ViewSnapshot.observed_at.in_(times))
    return {(pid, at) for pid, at in session.execute(q)}


def _nth_snapshot(column: Any, n: int) -> Any:
    """The n-th latest snapshot's `column` of the outer query's post (one index seek per post)."""
    return (
        select(column)
        .where(ViewSnapshot.post_id == Post.id)
        .order_by(ViewSnapshot.observed_at.desc())
        .limit(1)
        .offset(n)
        .correlate(Post)
        .scalar_subquery()
    )


def reach_many(session: Session, post_ids: set[int], now: datetime) -> dict[int, tuple[int, float]]:
    """Views so far and current velocity (views per hour) per post, in one query: velocity between the
    two latest snapshots, or since the post's creation when it has one; (0, 0.0) when it has none.

    Each post's two latest snapshots come from correlated subqueries that seek the (post, time) index,
    so the cost grows with the number of posts, not with how many snapshots they have accumulated.
    """
    if not post_ids:
        return {}
    rows = session.execute(
        select(
            Post.id,
            Post.created_at,
            _nth_snapshot(ViewSnapshot.views, 0),
            _nth_snapshot(ViewSnapshot.observed_at, 0),
            _nth_snapshot(ViewSnapshot.views, 1),
            _nth_snapshot(ViewSnapshot.observed_at, 1),
        ).where(Post.id.in_(post_ids))
    ).all()
    out: dict[int, tuple[int, float]] = {pid: (0, 0.0) for pid in post_ids}
    for pid, created, views, at, prev_views, prev_at in rows:
        if views is None or at is None:
            continue
        if prev_at is None:
            hours = max((at - (created or at)).total_seconds() / 3600, 1 / 60)
            out[pid] = (views, views / hours)
        else:
            hours = max((at - prev_at).total_seconds() / 3600, 1 / 60)
            out[pid] = (views, max(views - prev_views, 0) / hours)
    return out


def post_views(session: Session, pids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """(id, views) of posts keyed by platform id, without loading the posts."""
    wanted = set(pids)
    if not wanted:
        return {}
    rows = session.execute(select(Post.platform_id, Post.id, Post.views).where(Post.platform_id.in_(wanted)))
    return {pid: (post_id, views) for pid, post_id, views in rows}
