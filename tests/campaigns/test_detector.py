"""The coordination detector on small hand-made streams: campaigns found, organic look-alikes left alone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from townsquare.campaigns.detector import Detector, Observation

T0 = datetime(2026, 10, 20, 12, tzinfo=UTC)
OLD = datetime(2019, 1, 1, tzinfo=UTC)
QUOTE = "The best way to predict the future is to create it. Have a great week everyone"


def _feed(d: Detector, rows: list[Observation]) -> list[set[object]]:
    for r in sorted(rows, key=lambda r: r.at):
        d.observe(r)
    return [f.accounts for f in d.sweep(max(r.at for r in rows) + timedelta(seconds=1))]


def _obs(i: int, account: str, at: datetime, text: str, created: datetime = OLD, **kw: object) -> Observation:
    return Observation(f"p{i}", account, at, text, created, **kw)  # type: ignore[arg-type]


def test_a_copy_paste_ring_is_found() -> None:
    rnd = random.Random(1)
    rows = []
    for i in range(30):
        amount = rnd.choice(["0.5", "1", "2", "5"])
        text = (
            f"Send {amount} BTC to the official election fund wallet and get double back, polls close soon 🚀"
        )
        rows.append(_obs(i, f"ring{i % 6}", T0 + timedelta(seconds=40 * i + rnd.randint(0, 20)), text))
    found = _feed(Detector(), rows)
    assert found == [{f"ring{i}" for i in range(6)}]


def test_a_popular_quote_shared_by_strangers_is_not_a_campaign() -> None:
    rows = [_obs(i, f"fan{i}", T0 + timedelta(seconds=45 * i), QUOTE) for i in range(60)]
    assert _feed(Detector(), rows) == []


def test_fresh_accounts_pushing_one_link_are_found_and_a_trending_hashtag_is_not() -> None:
    fresh = T0 - timedelta(days=1)
    spam = [
        _obs(
            i,
            f"new{i}",
            T0 + timedelta(seconds=20 * i),
            f"great deals today {i} https://cheap-pills.example/buy",
            fresh,
        )
        for i in range(8)
    ]
    trend = [
        _obs(100 + i, f"old{i}", T0 + timedelta(seconds=5 * i), f"watching the debate #Debate2026 take {i}")
        for i in range(80)
    ]
    found = _feed(Detector(), spam + trend)
    assert found == [{f"new{i}" for i in range(8)}]


def test_synchronised_reposting_is_found() -> None:
    rows = []
    n = 0
    for target in range(4):
        for k in range(5):
            at = T0 + timedelta(minutes=10 * target, seconds=3 * k)
            rows.append(_obs(n, f"bot{k}", at, "RT", repost_of=f"target{target}"))
            n += 1
    assert _feed(Detector(), rows) == [{f"bot{k}" for k in range(5)}]


def test_a_reply_flood_from_fresh_accounts_is_found_and_replies_to_a_viral_post_are_not() -> None:
    fresh = T0 - timedelta(hours=6)
    flood = [
        _obs(
            i,
            f"troll{i}",
            T0 + timedelta(seconds=15 * i),
            f"you are a disgrace, resign now number {i}",
            fresh,
            reply_to_account="official",
        )
        for i in range(10)
    ]
    rnd = random.Random(2)
    words = ["great", "point", "disagree", "lol", "thanks", "source?", "wow", "true", "nope", "agreed", "why"]
    viral = [
        _obs(
            100 + i,
            f"fan{i}",
            T0 + timedelta(seconds=4 * i),
            " ".join(rnd.sample(words, 5)),
            reply_to_account="celebrity",
        )
        for i in range(150)
    ]
    assert _feed(Detector(), flood + viral) == [{f"troll{i}" for i in range(10)}]
