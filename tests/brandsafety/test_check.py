"""The in-process check: remembering per-post answer parts never changes an answer."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from townsquare.brandsafety import check as checker
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.index import AccountEntry, IndexCache, PostEntry, worst_of

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
WORDS = "sneakers party zephyr river glock news match vote pizza ticket".split()


def _reference(cache: IndexCache, prof: checker.CompiledProfile, e: PostEntry) -> dict[str, Any]:
    """The answer computed from scratch, as the check did before it remembered anything."""
    reasons: list[dict[str, Any]] = []
    if e.status in tx.FLOOR_STATUS:
        reasons.append({"kind": "post_status", "status": e.status, "risk": tx.FLOOR})
    standing = e.account.current_standing(NOW)
    if standing in tx.NEVER_ALLOWED_STANDING:
        reasons.append({"kind": "account_standing", "standing": standing, "risk": tx.FLOOR})
    allowed = e.pid in prof.allowed_posts or e.account_pid in prof.allowed_accounts
    for cat, r in e.worst:
        if r == 1 or (not allowed and r < prof.tolerance[cat]):
            reasons.append({"kind": "category", "category": cat, "risk": f"bsr00{r}"})
    if not allowed:
        if e.account_pid in prof.excluded_accounts:
            reasons.append({"kind": "account", "account": e.account_pid})
        if prof.automaton is not None:
            for _, kw in prof.automaton.iter(e.words):
                reasons.append({"kind": "keyword", "keyword": kw})
                break
        for cat, r in cache.account_labels(e.account_id):
            if r < prof.tolerance[cat]:
                reasons.append({"kind": "account_label", "category": cat, "risk": f"bsr00{r}"})
    return {"post": e.pid, "allowed": not reasons, "reasons": reasons}


def _entry(rng: random.Random, i: int, seq: int, acct: AccountEntry, aid: int) -> PostEntry:
    labels = [
        {"category": c, "risk": rng.choice(tx.RISK_IDS)}
        for c in rng.sample(tx.CATEGORY_IDS, rng.choice([0, 0, 1, 2]))
    ]
    words = " ".join(rng.sample(WORDS, 3))
    status = rng.choice(["visible"] * 8 + ["removed", "demonetised"])
    return PostEntry(
        i,
        f"p{i}",
        aid,
        acct.pid,
        status,
        labels,
        tuple(worst_of(labels).items()),
        f" {words} ",
        seq,
        "v",
        acct,
    )


def _world(rng: random.Random) -> IndexCache:
    cache = IndexCache()
    for a in range(12):
        cache.accounts[a] = AccountEntry(pid=f"a{a}", standing=rng.choice(["good"] * 4 + ["banned"]))
    for i in range(300):
        aid = rng.randrange(12)
        e = _entry(rng, i, i + 1, cache.accounts[aid], aid)
        cache.posts[i] = cache.by_pid[e.pid] = e
        cache.accounts[aid].posts.add(i)
    return cache


def _profile(rng: random.Random, pid: int) -> checker.CompiledProfile:
    return checker.CompiledProfile(
        pid,
        1,
        {c: tx.rank(rng.choice(tx.TOLERANCES)) for c in tx.CATEGORY_IDS},
        frozenset(f"a{a}" for a in rng.sample(range(12), 3)),
        frozenset(f"a{a}" for a in rng.sample(range(12), 2)),
        frozenset(f"p{i}" for i in rng.sample(range(300), 20)),
        checker._automaton(rng.sample(WORDS, 2)),
    )


def test_answers_match_the_reference_across_profiles_repeats_and_changes() -> None:
    rng = random.Random(20261207)
    cache = _world(rng)
    profiles = [_profile(rng, n) for n in range(1, 12)]  # more than one entry remembers: some are dropped
    entries = list(cache.posts.values())
    for _ in range(3):  # cold, then remembered
        for prof in profiles:
            got = checker.check_many(cache, prof, entries, NOW)
            assert got == [_reference(cache, prof, e) for e in entries]
    # The author's standing changes in place (a suspension ends), and a post gets a new state.
    acct = cache.accounts[0]
    acct.standing, acct.until = "suspended", NOW - timedelta(hours=1)
    e = _entry(rng, 5, 10_000, cache.accounts[cache.posts[5].account_id], cache.posts[5].account_id)
    cache.posts[5] = cache.by_pid[e.pid] = e
    acct.dirty = True
    entries = list(cache.posts.values())
    for prof in profiles:
        assert checker.check_many(cache, prof, entries, NOW) == [_reference(cache, prof, x) for x in entries]


def test_a_recompiled_profile_is_never_answered_from_an_older_one() -> None:
    rng = random.Random(7)
    cache = _world(rng)
    entries = list(cache.posts.values())
    first = _profile(rng, 1)
    checker.check_many(cache, first, entries, NOW)
    second = _profile(rng, 1)  # same id, other content: a new version of the profile
    assert checker.check_many(cache, second, entries, NOW) == [_reference(cache, second, e) for e in entries]
