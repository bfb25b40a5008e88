#!/usr/bin/env python
"""Brand-safety benchmark: the adjacency check in one process and over HTTP, and the index's ingest cost.

1. Two fresh SQLite databases (WAL) in a temporary folder; realistic accounts and posts from the demo
   builder (the shared datasets, else the builtin sample); the models off, as in `make bench`'s ingest.
2. Index cost: the same posts are ingested through the batch path (one transaction per batch) into
   both databases, alternating rounds, with the index hook on for one and replaced by a no-op for
   the other; the difference per post is the index's cost per decided post.
3. A profile with 2,000 excluded keywords (words and word pairs from the posts) and 2,000 excluded
   accounts, created through the service. In one process: every indexed post as a placement, cycled to
   `--placements`, checked 1,000 at a time against the memory index (placements per second).
4. Over HTTP: `townsquare serve` on a free loopback port; `POST /v1/brand-safety/check` with 1,000
   placements, `--requests` times over one keep-alive connection (latency percentiles).
5. Writes pretty JSON (default bench/results/brand_safety.json) and prints a summary.

Run: `.venv/bin/python bench/brand_safety.py [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_common import Record, chunks, latency_summary_ms, load_average, load_corpus, machine, rate
from ingest_http import http_client, running_service
from ingest_stages import ACTOR, platform_token, stage_runtime
from townsquare.access.service import Principal
from townsquare.brandsafety import check as checker
from townsquare.brandsafety import hooks, learned, service
from townsquare.brandsafety.index import cache_for
from townsquare.brandsafety.schemas import AdvertiserCreate, ProfileCreate
from townsquare.cli.db import upgrade
from townsquare.config import Settings
from townsquare.content import accounts as account_service
from townsquare.content.schemas import AccountCreate
from townsquare.db import transaction
from townsquare.detection.normalize import normalize, tokens
from townsquare.pipeline import ingest
from townsquare.runtime import Runtime

OUT = Path(__file__).parent / "results" / "brand_safety.json"
ADMIN = Principal(
    actor="bench:admin", permissions=frozenset({"brandsafety:admin", "brandsafety:impressions"})
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--posts", type=int, default=6000, help="posts ingested into each database")
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds of the ingest comparison")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--placements", type=int, default=200_000, help="placements checked in process")
    p.add_argument("--requests", type=int, default=300, help="HTTP check requests of 1,000 placements")
    p.add_argument("--keywords", type=int, default=2000)
    p.add_argument("--accounts", type=int, default=2000)
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--quick", action="store_true", help="small run to check that it works")
    args = p.parse_args(argv)
    if args.quick:
        args.posts, args.rounds, args.placements, args.requests = 1200, 2, 20_000, 30
    return args


def _accounts(rt: Runtime, records: list[Record]) -> None:
    with transaction(rt.sessions) as session:
        for a in records:
            account_service.create_account(session, rt, AccountCreate.model_validate(a), ACTOR)


def _ingest(rt: Runtime, posts: list[Record], size: int) -> tuple[float, float]:
    """Wall and CPU seconds to ingest these posts in batches."""
    start, cpu = time.perf_counter(), time.process_time()
    for batch in chunks(posts, size):
        with transaction(rt.sessions) as session:
            ingest.ingest_batch(session, rt, batch, ACTOR)
    return time.perf_counter() - start, time.process_time() - cpu


def ingest_cost(rts: dict[str, Runtime], posts: list[Record], args: argparse.Namespace) -> dict[str, Any]:
    """Ingest the same posts with the index hook and without it, alternating; rates and cost per post."""
    real = hooks.posts_written
    seconds = {"with_index": 0.0, "without_index": 0.0}
    cpu = {"with_index": 0.0, "without_index": 0.0}
    per_round = max(1, len(posts) // args.rounds)
    warm = posts[: args.batch_size]
    for name, rt in rts.items():  # warm-up, unmeasured: text-bank index, ORM caches
        hooks.posts_written = real if name == "with_index" else (lambda *a, **k: None)  # type: ignore[assignment]
        _ingest(rt, [dict(p, platform_id=f"warm-{p['platform_id']}") for p in warm], args.batch_size)
    try:
        for part in chunks(posts[len(warm) :], per_round):
            for name, rt in rts.items():
                hooks.posts_written = real if name == "with_index" else (lambda *a, **k: None)  # type: ignore[assignment]
                wall, used = _ingest(rt, part, args.batch_size)
                seconds[name] += wall
                cpu[name] += used
    finally:
        hooks.posts_written = real  # type: ignore[assignment]
    n = len(posts) - len(warm)
    cost_us = (seconds["with_index"] - seconds["without_index"]) / n * 1e6
    cpu_us = (cpu["with_index"] - cpu["without_index"]) / n * 1e6
    return {
        "posts": n,
        "batch_size": args.batch_size,
        "with_index_posts_per_s": rate(n, seconds["with_index"]),
        "without_index_posts_per_s": rate(n, seconds["without_index"]),
        "index_cost_us_per_post": round(cost_us, 1),
        "index_cost_share": round(cost_us / (seconds["without_index"] / n * 1e6), 3),
        # CPU time of this process: what the index costs whatever else the shared machine runs.
        "with_index_posts_per_cpu_s": rate(n, cpu["with_index"]),
        "without_index_posts_per_cpu_s": rate(n, cpu["without_index"]),
        "index_cost_cpu_us_per_post": round(cpu_us, 1),
        "index_cost_cpu_share": round(cpu_us / (cpu["without_index"] / n * 1e6), 3),
    }


def labelling_cost(rt: Runtime, posts: list[Record]) -> dict[str, Any]:
    """The hook's own work per post, in isolation: normalise the text and label it (rules + signals), and
    the same with the learned check (brandsafety/learned.py), which this run's ingest leaves off (models
    off) but a deployment with the models runs on every post, in batches as the ingest hook does."""
    thresholds = rt.scorer_thresholds()
    texts = [p["text"] for p in posts]
    start, cpu = time.perf_counter(), time.process_time()
    for t in texts:
        hooks.content_labels(thresholds, normalize(t), [])
    s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    n = len(texts)
    out: dict[str, Any] = {
        "posts": n,
        "us_per_post": round(s / n * 1e6, 1),
        "cpu_us_per_post": round(cpu_s / n * 1e6, 1),
    }
    model = learned.learned_model()
    if model is not None:
        model.refine(texts[:10], [[] for _ in range(10)])  # warm-up: the encoder's first run
        start, cpu = time.perf_counter(), time.process_time()
        for part in chunks(texts, 500):
            hooks.content_labels_batch(thresholds, [normalize(t) for t in part], [[] for _ in part], model)
        s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
        out["with_learned"] = {
            "us_per_post": round(s / n * 1e6, 1),
            "cpu_us_per_post": round(cpu_s / n * 1e6, 1),
            "encoder": model.encoder is not None,
        }
    return out


def _keywords(posts: list[Record], n: int, seed: int) -> list[str]:
    """Words and word pairs that occur in the posts (below the most common ones), as advertisers pick."""
    words: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for p in posts:
        toks = tokens(normalize(p["text"]))
        words.update(t for t in toks if len(t) >= 5 and t.isalpha())
        pairs.update(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False) if a.isalpha() and b.isalpha())
    # Brand and topic words an advertiser shuns are rarely the language's commonest: skip the top ones.
    pool = [w for w, _ in words.most_common()[1000:]] + [w for w, _ in pairs.most_common()[1000:]]
    random.Random(seed).shuffle(pool)
    return pool[:n]


def make_profile(
    rt: Runtime, corpus_accounts: list[Record], posts: list[Record], args: argparse.Namespace
) -> int:
    """An advertiser and its profile with the largest lists allowed, through the service."""
    have = [a["platform_id"] for a in corpus_accounts]
    extra = [
        {"platform_id": f"bench-acct-{i}", "handle": f"b{i}", "created_at": "2024-01-01T00:00:00Z"}
        for i in range(args.accounts)
    ]
    _accounts(rt, extra)
    # A tenth of the real authors, the rest accounts that post nothing here (most exclusions never match).
    real = random.Random(args.seed).sample(have, len(have) // 10)
    excluded = real + [f"bench-acct-{i}" for i in range(args.accounts - len(real))]
    with transaction(rt.sessions) as session:
        service.create_advertiser(session, rt, ADMIN, AdvertiserCreate(key="bench", name="Bench"))
        data = ProfileCreate(
            advertiser="bench", name="big", preset="moderate",
            excluded_keywords=_keywords(posts, args.keywords, args.seed), excluded_accounts=excluded,
        )  # fmt: skip
        return int(service.create_profile(session, rt, ADMIN, data)["id"])


def check_in_process(rt: Runtime, profile_id: int, n: int) -> tuple[dict[str, Any], list[str]]:
    """Placements per second against the memory index, 1,000 per call, the profile compiled once."""
    with transaction(rt.sessions) as session:
        start = time.perf_counter()
        cache = cache_for(session)
        load_s = time.perf_counter() - start
        p, _ = service.visible_profile(session, ADMIN, profile_id)
        start = time.perf_counter()
        prof = checker.PROFILES.get(p)
        compile_s = time.perf_counter() - start
    pids = list(cache.by_pid)
    entries = [cache.by_pid[pids[i % len(pids)]] for i in range(n)]
    now = rt.now()
    checker.check_many(cache, prof, entries[:1000], now)  # warm-up
    start, cpu = time.perf_counter(), time.process_time()
    results = [checker.check_many(cache, prof, part, now) for part in chunks(entries, 1000)]
    s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    blocked, reasons = 0, Counter[str]()
    for part in results:
        for r in part:
            if not r["allowed"]:
                blocked += 1
                reasons.update(x["kind"] for x in r["reasons"])
    return {
        "placements": n,
        "distinct_posts": len(pids),
        "placements_per_s": rate(n, s),
        "us_per_placement": round(s / n * 1e6, 2),
        "placements_per_cpu_s": rate(n, cpu_s),
        "cpu_us_per_placement": round(cpu_s / n * 1e6, 2),
        "blocked_share": round(blocked / n, 4),
        "reasons": dict(reasons.most_common()),
        "index_load_s": round(load_s, 3),
        "profile_compile_s": round(compile_s, 4),
    }, pids


def check_over_http(
    workdir: Path, url: str, token: str, profile_id: int, pids: list[str], n: int
) -> dict[str, Any]:
    """Latency of POST /v1/brand-safety/check with 1,000 placements, one keep-alive connection."""
    rng = random.Random(7)
    bodies = [
        json.dumps({"profile": profile_id, "placements": rng.sample(pids, min(1000, len(pids)))})
        for _ in range(n)
    ]
    with running_service(workdir, url, token) as svc, http_client(svc.base_url, token) as client:
        for body in bodies[:10]:  # warm-up: index load, profile compile
            assert client.post("/v1/brand-safety/check", content=body).status_code == 200
        lat = []
        before = svc.cpu_seconds()
        for body in bodies:
            start = time.perf_counter()
            resp = client.post("/v1/brand-safety/check", content=body)
            lat.append(time.perf_counter() - start)
            if resp.status_code != 200:
                raise RuntimeError(f"check answered {resp.status_code}: {resp.text[:300]}")
        after = svc.cpu_seconds()
    # The service's own CPU per request: its cost whatever else the shared machine is running.
    cpu_ms = round((after - before) / n * 1000, 2) if after is not None and before is not None else None
    return {
        "requests": n,
        "placements_per_request": min(1000, len(pids)),
        "latency_ms": latency_summary_ms(lat),
        "server_cpu_ms_per_request": cpu_ms,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark in a temporary folder; the result document."""
    os.environ["TOWNSQUARE_MODELS_ENABLED"] = "false"
    now = datetime.now(UTC)
    corpus = load_corpus(Settings().data_dir, args.posts, args.seed, now)
    posts = [dict(p, reply_to=None, quote_of=None) for p in corpus.posts]
    workdir = Path(tempfile.mkdtemp(prefix="townsquare-bs-bench-"))
    load_start = load_average()
    try:
        urls = {name: f"sqlite:///{workdir / f'{name}.db'}" for name in ("with_index", "without_index")}
        for u in urls.values():
            upgrade(u)
        token = platform_token(workdir, urls["with_index"])
        rts = {name: stage_runtime(workdir, u, token) for name, u in urls.items()}
        try:
            for rt in rts.values():
                _accounts(rt, corpus.accounts)
            ingest = ingest_cost(rts, posts, args)
            labelling = labelling_cost(rts["with_index"], posts[:2000])
            profile_id = make_profile(rts["with_index"], corpus.accounts, posts, args)
            in_process, pids = check_in_process(rts["with_index"], profile_id, args.placements)
        finally:
            for rt in rts.values():
                rt.dispose()
        http = check_over_http(workdir, urls["with_index"], token, profile_id, pids, args.requests)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "benchmark": "brand_safety",
        "created": now.isoformat(timespec="seconds"),
        "machine": machine(),
        "corpus": {"source": corpus.source, "posts": len(posts), "accounts": len(corpus.accounts)},
        "profile": {
            "preset": "moderate",
            "excluded_keywords": args.keywords,
            "excluded_accounts": args.accounts,
        },
        "targets": {"placements_per_s": 100_000, "http_p99_ms_for_1000": 30},
        "check_in_process": in_process,
        "check_http": http,
        "ingest": ingest,
        "labelling_only": labelling,
        "load_average": {"start": load_start, "end": load_average()},
        "quick": args.quick,
    }


def summary(r: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    c, h, i = r["check_in_process"], r["check_http"]["latency_ms"], r["ingest"]
    return "\n".join(
        [
            f"check in process: {c['placements_per_s']:,.0f} placements/s wall, "
            f"{c['placements_per_cpu_s']:,.0f} per CPU second; blocked {c['blocked_share']:.1%}",
            f"check over HTTP (1,000 placements): p50 {h['p50']} ms, p99 {h['p99']} ms; "
            f"server CPU {r['check_http']['server_cpu_ms_per_request']} ms per request",
            f"ingest with index {i['with_index_posts_per_s']:,.0f} posts/s, "
            f"without {i['without_index_posts_per_s']:,.0f} posts/s: "
            f"{i['index_cost_us_per_post']} us per decided post ({i['index_cost_share']:.1%}); "
            f"CPU {i['index_cost_cpu_us_per_post']} us ({i['index_cost_cpu_share']:.1%})",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the JSON, print the summary."""
    args = parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(summary(result))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
