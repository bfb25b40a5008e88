"""Helpers shared by the benchmarks: percentiles, realistic posts from the demo builder, the machine."""

from __future__ import annotations

import json
import math
import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from townsquare.demo.build import build_demo

T = TypeVar("T")
Record = dict[str, Any]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of latencies given in seconds, in milliseconds (zeros when empty)."""
    if not seconds:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0, "mean": 0.0}
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(percentile(ms, 50), 3),
        "p90": round(percentile(ms, 90), 3),
        "p99": round(percentile(ms, 99), 3),
        "max": round(max(ms), 3),
        "mean": round(statistics.fmean(ms), 3),
    }


def rate(count: int, seconds: float) -> float:
    """Items per second, rounded (0 when no time passed)."""
    return round(count / seconds, 1) if seconds > 0 else 0.0


def us_per(seconds: float, count: int) -> float:
    """Microseconds per item, rounded (0 when there were no items)."""
    return round(seconds / count * 1e6, 1) if count else 0.0


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Call `fn`; its result and the seconds it took."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def encode(obj: Any) -> bytes:
    """A JSON request body, encoded before the clock starts."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def chunks(items: list[T], size: int) -> list[list[T]]:
    """Consecutive chunks of `size` (the last may be shorter)."""
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass
class Corpus:
    """Accounts and posts in the platform ingest format (no `kind` key), and where the texts came from."""

    accounts: list[Record]
    posts: list[Record]
    source: str  # "datasets" or "builtin"


def load_corpus(data_dir: Path, n_posts: int, seed: int, now: datetime) -> Corpus:
    """Demo accounts and posts built from the datasets (or the builtin sample when they are absent)."""
    data = build_demo(data_dir, n_posts=n_posts, seed=seed, now=now)
    accounts, posts = [], []
    for record in data.records:
        clean = {k: v for k, v in record.items() if k != "kind"}
        if record.get("kind") == "account":
            accounts.append(clean)
        elif record.get("kind") == "post":
            posts.append(clean)
    return Corpus(accounts, posts, data.source)


class Slicer:
    """Hands out consecutive, disjoint slices of the corpus posts (wrapping round if it must)."""

    def __init__(self, posts: list[Record]) -> None:
        self.posts = posts
        self.next = 0

    def take(self, phase: str, n: int) -> list[Record]:
        """`n` posts with fresh ids `bench-<phase>-<i>`; replies and quotes point inside the phase only."""
        out: list[Record] = []
        renamed: dict[str, str] = {}
        for i in range(n):
            src = self.posts[(self.next + i) % len(self.posts)]
            pid = f"bench-{phase}-{i:07d}"
            item = dict(src, platform_id=pid)
            for ref in ("reply_to", "quote_of"):
                item[ref] = renamed.get(src.get(ref) or "")
            renamed[src["platform_id"]] = pid
            out.append(item)
        self.next += n
        return out


def load_average() -> list[float] | None:
    """1, 5 and 15-minute load averages: other work on the machine makes wall times noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
