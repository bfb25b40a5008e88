"""The adjacency check: may an advertiser's ad run next to these posts? Reads only the memory index.

A profile is compiled once per version: the tolerance per category as a risk rank, the excluded and
allowed sets, and one Aho-Corasick automaton over the keywords, each normalised and written as
" word word ", run over the post's words written the same way (so every match is on whole words).
A placement is blocked, with every reason, when the post is removed or deleted, demonetised (the
floor for everyone), its author is banned or suspended, it carries a floor label, a label above the
profile's tolerance, an excluded keyword, an excluded author, or its author's account carries a
category above the tolerance. Allow lists lift the last four, never the first four.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ahocorasick

from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.index import IndexCache, PostEntry
from townsquare.brandsafety.models import Profile
from townsquare.detection.normalize import normalize, tokens

_FLOOR_RANK = 1
_RISK_BY_RANK = {tx.rank(r): r for r in tx.RISK_IDS}


@dataclass(frozen=True)
class CompiledProfile:
    """A profile ready for the hot path."""

    id: int
    version: int
    tolerance: dict[str, int]  # category -> the lowest rank allowed (labels with a smaller rank block)
    excluded_accounts: frozenset[str]
    allowed_accounts: frozenset[str]
    allowed_posts: frozenset[str]
    automaton: Any | None  # ahocorasick.Automaton over normalised keywords: value (keyword, length)


def word_text(text: str) -> str:
    """The words of a normalised text, each between single spaces: a keyword found in it is a whole word."""
    return f" {' '.join(tokens(text))} "


def _automaton(keywords: list[str]) -> Any | None:
    auto = ahocorasick.Automaton()
    added = 0
    for kw in keywords:
        words = word_text(normalize(kw))
        if words.strip():
            auto.add_word(words, kw)
            added += 1
    if not added:
        return None
    auto.make_automaton()
    return auto


def compile_profile(p: Profile) -> CompiledProfile:
    """Tolerances per category (preset, then per-category overrides), sets and the keyword automaton."""
    base = tx.preset_tolerance(p.preset)
    tolerance = {c: tx.rank(p.tolerances.get(c, base)) for c in tx.CATEGORY_IDS}
    return CompiledProfile(
        p.id,
        p.version,
        tolerance,
        frozenset(p.excluded_accounts),
        frozenset(p.allowed_accounts),
        frozenset(p.allowed_posts),
        _automaton(list(p.excluded_keywords)),
    )


class ProfileCache:
    """Compiled profiles by id, version and content, least recently used dropped first.

    The content is part of the key because ids and versions repeat across databases (tests, restores).
    """

    def __init__(self, size: int = 256) -> None:
        self._items: OrderedDict[tuple[int, int, int], CompiledProfile] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, p: Profile) -> CompiledProfile:
        """The compiled form of this profile version."""
        content = (
            p.preset,
            tuple(sorted(p.tolerances.items())),
            tuple(p.excluded_keywords),
            tuple(p.excluded_accounts),
            tuple(p.allowed_accounts),
            tuple(p.allowed_posts),
        )
        key = (p.id, p.version, hash(content))
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        compiled = compile_profile(p)
        with self._lock:
            self._items[key] = compiled
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return compiled


PROFILES = ProfileCache()


_FLOOR_STATUS = tx.FLOOR_STATUS
_BAD_STANDING = tx.NEVER_ALLOWED_STANDING


_MEMO_PROFILES = 8  # profiles remembered per post entry


def _static(prof: CompiledProfile, e: PostEntry) -> tuple[Any, ...]:
    """What the answer owes to the post entry and the profile alone: (profile, allowed-list hit, the post's
    status reasons, its category, account and keyword reasons). The reason dicts are shared: read-only."""
    head = (
        ({"kind": "post_status", "status": e.status, "risk": tx.FLOOR},) if e.status in _FLOOR_STATUS else ()
    )
    allowed = e.pid in prof.allowed_posts or e.account_pid in prof.allowed_accounts
    tol = prof.tolerance
    mid: list[dict[str, Any]] = []
    for cat, r in e.worst:
        if r == _FLOOR_RANK or (not allowed and r < tol[cat]):
            mid.append({"kind": "category", "category": cat, "risk": _RISK_BY_RANK[r]})
    if not allowed:
        if e.account_pid in prof.excluded_accounts:
            mid.append({"kind": "account", "account": e.account_pid})
        if prof.automaton is not None and e.words:
            for _, kw in prof.automaton.iter(e.words):
                mid.append({"kind": "keyword", "keyword": kw})
                break
    return (prof, allowed, head, tuple(mid))


def check_one(cache: IndexCache, prof: CompiledProfile, e: PostEntry, now: datetime) -> dict[str, Any]:
    """One placement's answer: allowed, or blocked with every reason (the hot path: plain lookups only).

    The parts fixed by the entry and the profile are computed once per pair (`PostEntry.memo`); the
    author's standing (time-dependent, updated in place) and account labels are read every time.
    """
    memo = e.memo
    m = memo.get(id(prof))
    if m is None or m[0] is not prof:  # "is": an id may be reused once a profile is dropped
        if len(memo) >= _MEMO_PROFILES:
            memo.clear()
        m = memo[id(prof)] = _static(prof, e)
    _, allowed, head, mid = m
    reasons: list[dict[str, Any]] = list(head)
    acct = e.account
    if acct.standing != "good":
        standing = acct.current_standing(now)
        if standing in _BAD_STANDING:
            reasons.append({"kind": "account_standing", "standing": standing, "risk": tx.FLOOR})
    reasons.extend(mid)
    if not allowed:
        tol = prof.tolerance
        for cat, r in acct.aggregate if not acct.dirty else cache.account_labels(e.account_id):
            if r < tol[cat]:
                reasons.append({"kind": "account_label", "category": cat, "risk": _RISK_BY_RANK[r]})
    return {"post": e.pid, "allowed": not reasons, "reasons": reasons}


def check_many(
    cache: IndexCache, prof: CompiledProfile, entries: list[PostEntry], now: datetime
) -> list[dict[str, Any]]:
    """Answers for many placements, in order."""
    return [check_one(cache, prof, e, now) for e in entries]
