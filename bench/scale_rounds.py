"""bench/scale.py's rounds: medians per worker count, HTTP phase and SQLite run, and within-round ratios."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any


def _med(values: Iterable[float]) -> float:
    return round(statistics.median(values), 3)


def worker_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One worker count over the rounds: the median of each figure, every round kept beside it."""
    cpu = {k: _med(r["cpu_ms_per_post"][k] for r in runs) for k in runs[0]["cpu_ms_per_post"]}
    return {
        "workers": runs[0]["workers"],
        "posts_per_s": _med(r["posts_per_s"] for r in runs),
        "cpu_ms_per_post": cpu,
        "posts_per_cpu_s": _med(r["posts_per_cpu_s"] for r in runs),
        "bottleneck": max(cpu, key=lambda k: cpu[k]),
        "paced_at_80pct_p99_ms": _med(r["paced_at_80pct"]["latency_ms"]["p99"] for r in runs),
        "paced_at_80pct_p50_ms": _med(r["paced_at_80pct"]["latency_ms"]["p50"] for r in runs),
        "rounds": runs,
    }


def http_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for phase in ("single", "concurrent_8"):
        out[phase] = {
            "posts_per_s": _med(r[phase]["posts_per_s"] for r in runs),
            "service_cpu_ms_per_post": _med(r[phase]["service_cpu_ms_per_post"] or 0.0 for r in runs),
            "latency_p99_ms": _med(r[phase]["latency_ms"]["p99"] for r in runs),
        }
    out["rounds"] = runs
    return out


def round_ratios(rounds: list[dict[int, dict[str, Any]]]) -> dict[str, float]:
    """Ratios between worker counts within each round (run minutes apart), then their median."""
    per: dict[str, list[float]] = {}
    for by_n in rounds:
        if 1 in by_n and 2 in by_n:
            per.setdefault("two_vs_one_throughput", []).append(
                by_n[2]["posts_per_s"] / by_n[1]["posts_per_s"]
            )
        if 1 in by_n and 4 in by_n:
            per.setdefault("four_vs_one_throughput", []).append(
                by_n[4]["posts_per_s"] / by_n[1]["posts_per_s"]
            )
            per.setdefault("posts_per_cpu_s_change_1_to_4", []).append(
                by_n[4]["posts_per_cpu_s"] / by_n[1]["posts_per_cpu_s"] - 1
            )
    return {k: _med(v) for k, v in per.items()}


def summary(by_n: dict[int, dict[str, Any]]) -> str:
    return ", ".join(
        f"{n} worker(s) {r['posts_per_s']} posts/s, {r['cpu_ms_per_post']['workers']} ms/post, "
        f"probe {r['cpu_probe_ms']} ms"
        for n, r in by_n.items()
    )


def inline_medians(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """SQLite in one process over the rounds."""
    return {
        "posts_per_s": _med(x["posts_per_s"] for x in runs),
        "posts_per_cpu_s": _med(x["posts_per_cpu_s"] for x in runs),
        "rounds": runs,
    }
