"""Demo data: accounts, posts, view metrics and user reports in the platform ingest format."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from townsquare.demo.campaigns import CAMPAIGN_SHARE, plan_campaigns
from townsquare.demo.people import DemoAccount, iso, make_accounts
from townsquare.demo.sources import (
    Pools,
    SampleRow,
    clean_text,
    load_pools,
    sample_pools,
    sample_rows,
    source_weight,
)

WINDOW = timedelta(days=14)
# Share of posts per category: a mostly benign timeline, like a real one.
MIX = {
    "benign": 0.70,
    "offensive": 0.08,
    "hate": 0.06,
    "spam": 0.05,
    "scam": 0.04,
    "health_misinfo": 0.04,
    "election_misinfo": 0.03,
}
FOREIGN_SHARE = 0.01  # posts in other languages, from the builtin sample
REPLY_RATE = {"benign": 0.09, "offensive": 0.25, "hate": 0.08, "spam": 0.12}  # others: 0.05
QUOTE_RATE = 0.02
VIRAL_RATE = 0.01
REPORT_RATE = 0.1  # reports per post
# Which bad-actor roles post which category, and how much of that category bad actors post.
ROLE_CATEGORIES = {
    "hate": ("hate", "offensive"),
    "spam": ("spam",),
    "scam": ("scam", "spam"),
    "misinfo": ("health_misinfo", "election_misinfo"),
    "impostor": ("scam", "election_misinfo"),
}
BAD_ACTOR_SHARE = {"offensive": 0.25, "hate": 0.7, "spam": 0.7, "scam": 0.75}  # others: 0.6
REASONS: dict[str, dict[str, float]] = {
    "hate": {"hate_speech": 0.8, "harassment_threats": 0.1, "violent_extremism": 0.06, "other": 0.04},
    "offensive": {"harassment_threats": 0.65, "hate_speech": 0.2, "other": 0.15},
    "spam": {"spam": 0.85, "scams_fraud": 0.15},
    "scam": {"scams_fraud": 0.75, "spam": 0.2, "impersonation": 0.05},
    "health_misinfo": {"health_misinformation": 0.9, "other": 0.1},
    "election_misinfo": {"election_misinformation": 0.9, "other": 0.1},
    "doxxing": {"private_information": 0.8, "harassment_threats": 0.2},  # campaign posts only
    "threat": {"harassment_threats": 0.9, "other": 0.1},
    "benign": {
        "other": 0.3,
        "spam": 0.15,
        "harassment_threats": 0.15,
        "hate_speech": 0.1,
        "election_misinformation": 0.08,
        "private_information": 0.07,
        "health_misinformation": 0.05,
        "self_harm": 0.04,
        "impersonation": 0.03,
        "child_safety": 0.02,
        "ban_evasion": 0.01,
    },
}
REPORT_TEXTS = {
    "hate_speech": ["This is hate speech.", "Dehumanising a whole group of people.", "Racist garbage."],
    "harassment_threats": ["This is harassment.", "They keep going after me.", "Reads like a threat to me."],
    "violent_extremism": ["Glorifying violence against a group.", "Extremist recruiting talk."],
    "election_misinformation": ["False info about how to vote.", "Misleading claim about the election."],
    "health_misinformation": ["Dangerous fake cure.", "This health claim is false and could hurt people."],
    "scams_fraud": ["Scam link, don't click.", "Phishing for bank details.", "Crypto giveaway scam."],
    "spam": ["Spam.", "Same promo posted everywhere.", "Bot spam in every thread."],
    "impersonation": ["This account is pretending to be someone else.", "Fake copy of an official account."],
    "private_information": ["Shares someone's personal details.", "Posted a phone number without consent."],
    "self_harm": ["I'm worried about this person."],
    "child_safety": ["Please check this, something feels off about it."],
    "ban_evasion": ["New account of someone who was already banned."],
    "other": ["Just not okay.", "Please review.", "I don't think this belongs here."],
}


@dataclass
class DemoData:
    """Demo records in ingest order, where their texts came from, and how many of each thing."""

    records: list[dict[str, Any]]
    source: str  # "datasets" or "builtin"
    counts: dict[str, int]
    # Ground truth for demos and checks: post id -> category, account id -> role (non-regular only).
    labels: dict[str, str] = field(default_factory=dict)
    campaigns: dict[str, str] = field(default_factory=dict)  # post id -> campaign name (campaigns.py)


class _Draw(NamedTuple):
    category: str
    language: str | None  # None: English, left for the platform to detect or tag
    source: str
    text: str
    author: DemoAccount | None = None  # campaign posts come with their author
    reply: bool | None = None  # None: reply at the category's usual rate


@dataclass
class _Post:
    platform_id: str
    author: DemoAccount
    category: str
    source: str
    text: str
    language: str | None
    created_at: datetime
    reply_to: _Post | None = None
    quote_of: _Post | None = None
    views: int = 0  # eventual views
    growth_s: float = 3600.0  # time constant of view growth

    def record(self) -> dict[str, Any]:
        return {
            "kind": "post",
            "platform_id": self.platform_id,
            "author": self.author.platform_id,
            "text": self.text,
            "language": self.language,
            "created_at": iso(self.created_at),
            "reply_to": self.reply_to.platform_id if self.reply_to else None,
            "quote_of": self.quote_of.platform_id if self.quote_of else None,
        }


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _post_times(rng: random.Random, n: int, now: datetime) -> list[datetime]:
    """n sorted times in the 14 days before now (at least 10 minutes old), busiest mid-afternoon UTC."""
    start = now - WINDOW
    span = int(WINDOW.total_seconds()) - 600
    times: list[int] = []
    while len(times) < n:
        offset = rng.randrange(span)
        hour = (start + timedelta(seconds=offset)).hour
        if rng.random() < 0.35 + 0.65 * math.sin(math.pi * ((hour - 4) % 24) / 24) ** 2:
            times.append(offset)
    return [start + timedelta(seconds=s) for s in sorted(times)]


def _draw_texts(rng: random.Random, n: int, pools: Pools, foreign: list[SampleRow]) -> list[_Draw]:
    """A category, language, source and raw text per post: foreign rows at random places, the rest mixed."""
    mix = {c: share for c, share in MIX.items() if pools.get(c)}
    n_foreign = min(len(foreign), round(n * FOREIGN_SHARE))
    where = sorted(rng.sample(range(n), n_foreign))
    foreign_at = dict(zip(where, rng.sample(foreign, n_foreign), strict=True))
    used: set[str] = set()
    drawn: list[_Draw] = []
    for i in range(n):
        if i in foreign_at:
            category, language, text = foreign_at[i]
            drawn.append(_Draw(category, language, "builtin", text))
            continue
        category = _pick(rng, mix)
        sources = {s: source_weight(category, s) for s in sorted(pools[category])}
        for _ in range(10):  # avoid repeats (olid and tweeteval-offensive share tweets)
            source = _pick(rng, sources)
            text = rng.choice(pools[category][source])
            if text not in used:
                break
        used.add(text)
        drawn.append(_Draw(category, "en" if rng.random() < 0.85 else None, source, text))
    return drawn


class _Authors:
    """Chooses authors: activity-weighted, with bad actors posting most of their kind of harm."""

    def __init__(self, accounts: list[DemoAccount]) -> None:
        good = [a for a in accounts if a.role in ("regular", "official", "notable")]
        bad = [a for a in accounts if a.role in ROLE_CATEGORIES]
        # Bad actors also post a little ordinary chatter, so they are not trivially separable.
        self.general = (good + bad, [a.activity for a in good] + [0.1 * a.activity for a in bad])
        self.by_category = {c: [a for a in bad if c in ROLE_CATEGORIES[a.role]] for c in MIX if c != "benign"}

    def choose(self, rng: random.Random, category: str) -> DemoAccount:
        """An author for a post of this category."""
        bad = self.by_category.get(category)
        if bad and rng.random() < BAD_ACTOR_SHARE.get(category, 0.6):
            return rng.choices(bad, weights=[a.activity for a in bad])[0]
        return rng.choices(self.general[0], weights=self.general[1])[0]


def _reach(rng: random.Random, post: _Post) -> None:
    """Set eventual views from the author's followers; a few posts go viral, fast."""
    views = post.author.followers * rng.lognormvariate(math.log(0.2), 1.0) + rng.randint(0, 40)
    if post.reply_to is not None:
        views *= 0.3
    post.growth_s = rng.uniform(2, 10) * 3600
    if rng.random() < VIRAL_RATE:
        views = views * 10 ** rng.uniform(1.3, 2.3) + rng.randint(20_000, 200_000)
        post.growth_s = rng.uniform(900, 3600)
    post.views = int(views)


def _earlier(rng: random.Random, posts: list[_Post], author: DemoAccount) -> _Post | None:
    """A recent post by someone else, preferring ones with more reach (replies pile onto big posts)."""
    recent = [p for p in posts[-150:] if p.author is not author and p.language in ("en", None)]
    if not recent:
        return None
    return max(rng.sample(recent, min(4, len(recent))), key=lambda p: p.views)


def _make_posts(
    rng: random.Random, accounts: list[DemoAccount], drawn: list[_Draw], times: list[datetime]
) -> list[_Post]:
    authors = _Authors(accounts)
    handles = [a.handle for a in accounts]
    posts: list[_Post] = []
    for i, (draw, created) in enumerate(zip(drawn, times, strict=True), start=1):
        author = draw.author or authors.choose(rng, draw.category)
        post = _Post(f"post-{i:06d}", author, draw.category, draw.source, "", draw.language, created)
        english = draw.language in ("en", None)
        reply = rng.random() < REPLY_RATE.get(draw.category, 0.05) if draw.reply is None else draw.reply
        if english and reply:
            post.reply_to = _earlier(rng, posts, author)
        elif english and rng.random() < QUOTE_RATE:
            post.quote_of = _earlier(rng, posts, author)
        parent = post.reply_to.author.handle if post.reply_to else None
        post.text = clean_text(draw.text, rng, handles, reply_to=parent) or "…"
        _reach(rng, post)
        posts.append(post)
    return posts


def _metrics(rng: random.Random, post: _Post, now: datetime) -> list[tuple[datetime, dict[str, Any]]]:
    """2-4 view snapshots in the post's first three days, strictly increasing."""
    span = min((now - post.created_at).total_seconds(), 3 * 86400) - 10
    offsets = sorted(60 + int((span - 60) * rng.random() ** 2) for _ in range(rng.randint(2, 4)))
    snapshots: list[tuple[datetime, dict[str, Any]]] = []
    last_offset, last_views = 0, -1
    for offset in offsets:
        offset = max(offset, last_offset + 1)
        views = max(int(post.views * (1 - math.exp(-offset / post.growth_s))), last_views + 1)
        at = post.created_at + timedelta(seconds=offset)
        snapshots.append(
            (at, {"kind": "metrics", "post": post.platform_id, "views": views, "observed_at": iso(at)})
        )
        last_offset, last_views = offset, views
    return snapshots


def _reporter(rng: random.Random, pool: list[DemoAccount], subject: DemoAccount) -> DemoAccount:
    while True:
        reporter = rng.choice(pool)
        if reporter is not subject:
            return reporter


def _reports(
    rng: random.Random, posts: list[_Post], accounts: list[DemoAccount], now: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    """User reports: mostly on harmful posts (more on high-reach ones), some noise, a few on accounts."""
    n = round(len(posts) * REPORT_RATE)
    reporters = [a for a in accounts if a.role in ("regular", "notable")]
    harmful = [p for p in posts if p.category != "benign"]
    benign = [p for p in posts if p.category == "benign"]
    bad = [a for a in accounts if a.role in ROLE_CATEGORIES]
    n_accounts = min(len(bad), round(n * 0.04))
    n_noise = round(n * 0.15) if harmful else n - n_accounts
    subjects: list[_Post] = []
    if harmful:
        weights = [1 + math.sqrt(p.views) for p in harmful]
        subjects += rng.choices(harmful, weights=weights, k=n - n_accounts - n_noise)
    if benign:
        subjects += rng.choices(benign, k=n_noise)
    out: list[tuple[datetime, dict[str, Any]]] = []
    for post in subjects:
        reason = _pick(rng, REASONS[post.category])
        delay = min(60 + rng.expovariate(1 / (3 * 3600)), (now - post.created_at).total_seconds() - 1)
        at = post.created_at + timedelta(seconds=int(delay))
        out.append(
            (at, _report(rng, _reporter(rng, reporters, post.author), "post", post.platform_id, reason, at))
        )
    for account in rng.sample(bad, n_accounts):
        reason = _account_reason(account, now)
        originals = [a for a in accounts if a.role == "official" and a.display_name == account.display_name]
        reporter = originals[0] if originals else _reporter(rng, reporters, account)
        start = max(account.created_at, now - WINDOW)
        at = start + timedelta(seconds=rng.randrange(int((now - start).total_seconds()) - 60))
        out.append((at, _report(rng, reporter, "account", account.platform_id, reason, at)))
    return out


def _account_reason(account: DemoAccount, now: datetime) -> str:
    if account.role == "impostor":
        return "impersonation"
    if account.role == "hate":
        return "ban_evasion" if now - account.created_at < timedelta(days=60) else "hate_speech"
    return {"spam": "spam", "scam": "scams_fraud"}.get(account.role, "other")


def _report(
    rng: random.Random, reporter: DemoAccount, subject_type: str, subject: str, reason: str, at: datetime
) -> dict[str, Any]:
    return {
        "kind": "report",
        "platform_id": "",  # numbered once all reports are in time order
        "reporter": reporter.platform_id,
        "subject_type": subject_type,
        "subject": subject,
        "reason": reason,
        "text": rng.choice(REPORT_TEXTS[reason]),
        "created_at": iso(at),
    }


def build_demo(
    data_dir: Path | None, *, n_posts: int = 3000, seed: int = 20261121, now: datetime
) -> DemoData:
    """Build demo accounts, posts, metrics and reports from the datasets (or the builtin sample)."""
    now = (now if now.tzinfo else now.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    rng = random.Random(seed)
    rows = sample_rows()
    pools, source = load_pools(data_dir), "datasets"
    if not pools:
        pools, source = sample_pools(rows), "builtin"
    accounts = make_accounts(rng, now)
    # Copy-paste waves from bad actors and throwaways (own random stream), part of the n_posts budget.
    accounts, waves = plan_campaigns(
        random.Random(f"{seed}:campaigns"), accounts, round(n_posts * CAMPAIGN_SHARE), now
    )
    n_data = n_posts - len(waves)
    drawn = _draw_texts(rng, n_data, pools, [r for r in rows if r[1] != "en"])
    timed = list(zip(_post_times(rng, n_data, now), drawn, strict=True))
    for c in waves:
        timed.append(
            (c.created, _Draw(c.category, c.language, f"campaign:{c.campaign}", c.text, c.author, c.reply))
        )
    timed.sort(key=lambda item: item[0])
    posts = _make_posts(rng, accounts, [d for _, d in timed], [t for t, _ in timed])
    timeline: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for i, post in enumerate(posts):
        timeline.append((post.created_at, 0, i, post.record()))
        timeline += [(at, 1, len(timeline) + k, rec) for k, (at, rec) in enumerate(_metrics(rng, post, now))]
    reports = sorted(_reports(rng, posts, accounts, now), key=lambda r: (r[0], r[1]["subject"]))
    for i, (at, rec) in enumerate(reports, start=1):
        rec["platform_id"] = f"rep-{i:06d}"
        timeline.append((at, 2, i, rec))
    timeline.sort(key=lambda item: item[:3])
    records = [a.record() for a in accounts] + [item[3] for item in timeline]
    labels = {p.platform_id: p.category for p in posts}
    labels |= {a.platform_id: a.role for a in accounts if a.role != "regular"}
    campaigns = {p.platform_id: p.source.split(":", 1)[1] for p in posts if p.source.startswith("campaign:")}
    return DemoData(records, source, _counts(records, posts, accounts), labels, campaigns)


def _counts(records: list[dict[str, Any]], posts: list[_Post], accounts: list[DemoAccount]) -> dict[str, int]:
    counts = Counter(str(r["kind"]) for r in records)
    counts["reports_on_accounts"] = sum(1 for r in records if r.get("subject_type") == "account")
    counts["replies"] = sum(1 for p in posts if p.reply_to)
    counts["quotes"] = sum(1 for p in posts if p.quote_of)
    counts["non_english"] = sum(1 for p in posts if p.language not in ("en", None))
    counts["verified"] = sum(1 for a in accounts if a.verified)
    counts["protected"] = sum(1 for a in accounts if a.protected)
    counts["bad_actors"] = sum(1 for a in accounts if a.role in ROLE_CATEGORIES)
    counts.update(f"posts_{p.category}" for p in posts)
    counts.update(f"from_{p.source}" for p in posts)
    return dict(sorted(counts.items()))


def write_jsonl(records: Iterable[dict[str, Any]], path: Path) -> int:
    """Write records as JSON Lines (UTF-8), creating parent folders; returns how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n
