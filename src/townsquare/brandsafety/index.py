"""The label index: rows written in the transaction of every decision, edit and action; read from memory.

Writers append a `PostLabels` row (post state: status, labels, normalised text) or an `AccountState` row
(standing) in the caller's transaction. Readers hold one `IndexCache` per database engine: the latest
row of every post and account, refreshed before each use by reading only the rows with a higher `seq`
(one indexed range query, usually empty). On PostgreSQL a transaction may commit a lower `seq` after a
higher one was read; those gaps are looked up again for a minute, so a late commit is never missed.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.models import AccountState, PostLabels

_GAP_SECONDS = 60.0
_MAX_GAPS = 10_000
# An account carries a category when at least this share of its posts (and at least two) do.
ACCOUNT_SHARE = 0.2
ACCOUNT_MIN_POSTS = 2


@dataclass(slots=True)
class AccountEntry:
    """An account's standing and, lazily, the categories its posts carry."""

    pid: str = ""
    standing: str = "good"
    until: datetime | None = None
    labels: list[dict[str, Any]] = field(default_factory=list)  # from account actions
    seq: int = 0
    posts: set[int] = field(default_factory=set)
    dirty: bool = True
    aggregate: tuple[tuple[str, int], ...] = ()

    def current_standing(self, now: datetime) -> str:
        """Standing as of now: a suspension past its end no longer counts."""
        if self.standing == "suspended" and self.until is not None and self.until <= now:
            return "good"
        return self.standing


@dataclass(slots=True)
class PostEntry:
    """The latest state of one post."""

    post_id: int
    pid: str
    account_id: int
    account_pid: str
    status: str
    labels: list[dict[str, Any]]
    worst: tuple[tuple[str, int], ...]  # (category, risk rank 1 floor .. 4 low), one per category
    words: str  # " word word ... ": the normalised text's words, for advertisers' keywords
    seq: int
    label_version: str
    account: AccountEntry  # the author's entry (updated in place), so the check needs no lookup
    # The check's answer parts that depend only on this entry and a profile, by id(profile) (check.py).
    # An update makes a new entry, so nothing here is ever stale.
    memo: dict[int, tuple[Any, ...]] = field(default_factory=dict)


def worst_of(labels: list[dict[str, Any]]) -> dict[str, int]:
    """Category -> the most severe risk rank among these labels."""
    out: dict[str, int] = {}
    for lab in labels:
        r = tx.rank(lab["risk"])
        if r < out.get(lab["category"], 9):
            out[lab["category"]] = r
    return out


_POST_COLS = (
    PostLabels.seq,
    PostLabels.post_id,
    PostLabels.post_pid,
    PostLabels.account_id,
    PostLabels.account_pid,
    PostLabels.status,
    PostLabels.labels,
    PostLabels.text,
    PostLabels.label_version,
)
_ACCOUNT_COLS = (
    AccountState.seq,
    AccountState.account_id,
    AccountState.account_pid,
    AccountState.standing,
    AccountState.standing_until,
    AccountState.labels,
)


class IndexCache:
    """The latest brand-safety state of every post and account of one database, in memory."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posts: dict[int, PostEntry] = {}
        self.by_pid: dict[str, PostEntry] = {}
        self.accounts: dict[int, AccountEntry] = {}
        self.post_seq = 0
        self.account_seq = 0
        self._gaps: dict[str, dict[int, float]] = {"post": {}, "account": {}}

    def refresh(self, session: Session) -> None:
        """Read the rows committed since the last refresh (and any gap that has since committed)."""
        with self.lock:
            self._refresh_posts(session)
            self._refresh_accounts(session)

    def _refresh_posts(self, session: Session) -> None:
        q = select(*_POST_COLS)
        if self.post_seq == 0:
            latest = select(func.max(PostLabels.seq)).group_by(PostLabels.post_id)
            rows = list(session.execute(q.where(PostLabels.seq.in_(latest)).order_by(PostLabels.seq)).all())
        else:
            rows = list(
                session.execute(q.where(PostLabels.seq > self.post_seq).order_by(PostLabels.seq)).all()
            )
        rows += self._gap_rows(session, "post", q, PostLabels.seq)
        for row in rows:
            self._apply_post(row)
        self.post_seq = self._advance("post", self.post_seq, [r.seq for r in rows])

    def _refresh_accounts(self, session: Session) -> None:
        q = select(*_ACCOUNT_COLS)
        rows = list(session.execute(q.where(AccountState.seq > self.account_seq).order_by(AccountState.seq)))
        rows += self._gap_rows(session, "account", q, AccountState.seq)
        for row in rows:
            acct = self.accounts.setdefault(row.account_id, AccountEntry())
            if row.seq < acct.seq:
                continue
            acct.pid, acct.standing, acct.until = row.account_pid, row.standing, row.standing_until
            acct.labels, acct.seq, acct.dirty = list(row.labels or []), row.seq, True
        self.account_seq = self._advance("account", self.account_seq, [r.seq for r in rows])

    def _gap_rows(self, session: Session, kind: str, q: Any, col: Any) -> list[Any]:
        gaps = self._gaps[kind]
        if not gaps:
            return []
        now = time.monotonic()
        for seq in [s for s, t in gaps.items() if now - t > _GAP_SECONDS]:
            del gaps[seq]
        if not gaps:
            return []
        found = session.execute(q.where(col.in_(list(gaps)))).all()
        for r in found:
            gaps.pop(r.seq, None)
        return list(found)

    def _advance(self, kind: str, last: int, seqs: list[int]) -> int:
        if not seqs:
            return last
        top = max(seqs)
        if last and top - last <= _MAX_GAPS:
            seen = set(seqs)
            now = time.monotonic()
            for missing in range(last + 1, top):
                if missing not in seen and len(self._gaps[kind]) < _MAX_GAPS:
                    self._gaps[kind].setdefault(missing, now)
        return max(top, last)

    def _apply_post(self, row: Any) -> None:
        old = self.posts.get(row.post_id)
        if old is not None and row.seq < old.seq:
            return  # a late commit of an older state
        labels = list(row.labels or [])
        acct = self.accounts.setdefault(row.account_id, AccountEntry(pid=row.account_pid))
        entry = PostEntry(
            row.post_id,
            row.post_pid,
            row.account_id,
            row.account_pid,
            row.status,
            labels,
            tuple(worst_of(labels).items()),
            f" {row.text} " if row.text else "",
            row.seq,
            row.label_version,
            acct,
        )
        self.posts[row.post_id] = entry
        self.by_pid[row.post_pid] = entry
        acct.pid = acct.pid or row.account_pid
        acct.posts.add(row.post_id)
        acct.dirty = True

    def account_labels(self, account_id: int) -> tuple[tuple[str, int], ...]:
        """(category, risk rank) an account carries: from its account actions and from its posts."""
        acct = self.accounts.get(account_id)
        if acct is None:
            return ()
        if acct.dirty:
            acct.aggregate = tuple(_aggregate(acct, self.posts).items())
            acct.dirty = False
        return acct.aggregate


def _aggregate(acct: AccountEntry, posts: dict[int, PostEntry]) -> dict[str, int]:
    """The most severe risk per category that at least ACCOUNT_SHARE of the account's posts reach."""
    live = [posts[p] for p in acct.posts if p in posts and posts[p].status != "deleted"]
    need = max(ACCOUNT_MIN_POSTS, math.ceil(ACCOUNT_SHARE * len(live)))
    counts: dict[str, list[int]] = {}
    for entry in live:
        for cat, r in entry.worst:
            counts.setdefault(cat, [0, 0, 0, 0, 0])[r] += 1
    out = worst_of(acct.labels)
    for cat, per_rank in counts.items():
        running = 0
        for r in range(1, 5):
            running += per_rank[r]
            if running >= need:
                out[cat] = min(out.get(cat, 9), r)
                break
    return out


_CACHES: weakref.WeakKeyDictionary[Engine, IndexCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(session: Session) -> IndexCache:
    """This database's index cache, refreshed with what has committed since it was last read."""
    engine = session.get_bind().engine
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = IndexCache()
    cache.refresh(session)
    return cache
