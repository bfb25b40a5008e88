#!/usr/bin/env python
"""Detection benchmark: the fast tier, the semantic tier and the cascade on realistic texts.

Texts are the held-out rows of every dataset the scorers use (tweets, SMS, forum sentences, news
titles, claims), shuffled with a fixed seed. Measured in one process on this machine:

1. load time and resident memory with every fast model loaded (and again with the semantic tier);
2. the fast tier (language, every fast scorer, claim matching, target and evidence) in batches of 256:
   posts/s and per-batch latency; then single posts one at a time: p50/p99;
3. per stage, on the same batches: language, features, heads, claims, assembling the result;
4. the semantic encoder alone (batches of 64) and the cascade in batches of 256, with the share of
   posts it re-scores.

Run: `make bench`, or `.venv/bin/python bench/detection.py [--quick] [--texts N] [--out FILE]`.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_common import latency_summary_ms, load_average, machine, rate, us_per
from townsquare.config import PROJECT_ROOT
from townsquare.detection.classify import Classifier
from townsquare.detection.semantic import load_semantic
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.fit import HEADS

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "detection.json"
TARGETS = {"fast_posts_per_s": 3000, "fast_single_p99_ms": 10, "fast_rss_mb": 600}


def rss_mb() -> dict[str, float]:
    """Current and peak resident memory of this process, in MB (from /proc)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = round(int(value.split()[0]) / 1024, 1)
    return out


def realistic_texts(data_dir: Path, n: int, seed: int) -> list[str]:
    """Held-out texts of every dataset, each once, shuffled; at most n."""
    seen: set[str] = set()
    texts = []
    for spec in HEADS.values():
        for part in ds.load_task(spec.task, data_dir).parts:
            for row in part.val + part.test:
                if row.text not in seen:
                    seen.add(row.text)
                    texts.append(row.text)
    random.Random(seed).shuffle(texts)
    return texts[:n]


def batched(fn: Callable[[list[str]], Any], texts: list[str], size: int) -> tuple[list[float], float]:
    """Per-batch latencies and total seconds of fn over the texts."""
    lat = []
    start = time.perf_counter()
    for i in range(0, len(texts), size):
        t0 = time.perf_counter()
        fn(texts[i : i + size])
        lat.append(time.perf_counter() - t0)
    return lat, time.perf_counter() - start


def throughput(texts: Sequence[str], lat: list[float], total: float, size: int) -> dict[str, Any]:
    """Posts/s overall and at the median batch, with batch latency percentiles."""
    return {
        "posts": len(texts),
        "batch_size": size,
        "posts_per_s": rate(len(texts), total),
        "posts_per_s_at_median_batch": rate(size, statistics.median(lat)) if lat else 0.0,
        "batch_latency_ms": latency_summary_ms(lat),
    }


def stages(c: Classifier, texts: list[str], size: int) -> dict[str, float]:
    """Microseconds per post of each fast-tier stage."""
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    timing: dict[str, float] = {}

    def clock(name: str, fn: Callable[[list[str]], Any]) -> None:
        start = time.perf_counter()
        for chunk in chunks:
            fn(chunk)
        timing[name] = us_per(time.perf_counter() - start, len(texts))

    clock("language", lambda b: [c.language.detect(t) for t in b])
    clock("features", c.fast.features)
    feats = [c.fast.features(b) for b in chunks]
    start = time.perf_counter()
    for X in feats:
        c.fast.probabilities(c.fast.margins(X))
    timing["heads"] = us_per(time.perf_counter() - start, len(texts))
    clock("claims_bm25", c.claim_model.match)
    clock("whole_classify", lambda b: c.classify(b))
    timing["assembly_and_evidence"] = round(
        timing["whole_classify"] - sum(timing[k] for k in ("language", "features", "heads", "claims_bm25")), 1
    )
    return timing


def fast_section(models: Path, claims: Path, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    c = Classifier(models, claims)
    load_s = time.perf_counter() - start
    mem_loaded = rss_mb()
    c.classify(texts[: args.batch])  # warm caches
    lat, total = batched(c.classify, texts, args.batch)
    single_texts = texts[: args.singles]
    single = []
    for t in single_texts:
        t0 = time.perf_counter()
        c.classify([t])
        single.append(time.perf_counter() - t0)
    flagged = {name: 0 for name in c.fast.heads if name != "targeted"}
    for r in c.classify(texts[:5000]):
        for name, s in r.scores.items():
            flagged[name] += s.flagged
    return {
        "load_s": round(load_s, 3),
        "memory_after_load": mem_loaded,
        "batched": throughput(texts, lat, total, args.batch),
        "single": {"posts": len(single_texts), "latency_ms": latency_summary_ms(single)},
        "stages_us_per_post": stages(c, texts, args.batch),
        "flagged_share_first_5000": {k: round(v / min(5000, len(texts)), 4) for k, v in flagged.items()},
        "memory_after_run": rss_mb(),
    }


def semantic_section(
    models: Path, claims: Path, texts: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    start = time.perf_counter()
    sem = load_semantic(models)
    if sem is None:
        return {"available": False, "why": "the semantic extra or its artifact is not installed"}
    c = Classifier(models, claims, semantic=sem)
    load_s = time.perf_counter() - start
    enc_texts = texts[: args.encoder_texts]
    lat, total = batched(sem.encoder.run, enc_texts, 64)
    casc_texts = texts[: args.cascade_texts]
    results: list[Any] = []
    clat, ctotal = batched(lambda b: results.extend(c.classify(b)), casc_texts, args.batch)
    rescored = sum(any(s.tier == "cascade" for s in r.scores.values()) for r in results)
    per_head = {
        k: round(sum(r.scores[k].tier == "cascade" for r in results) / len(results), 4)
        for k in results[0].scores
    }
    return {
        "available": True,
        "version": sem.version,
        "load_s": round(load_s, 3),
        "encoder": throughput(enc_texts, lat, total, 64),
        "cascade": {
            **throughput(casc_texts, clat, ctotal, args.batch),
            "rescored_share": round(rescored / len(results), 4),
            "rescored_share_per_scorer": per_head,
        },
        "memory": rss_mb(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Detection speed and memory (fast tier, semantic tier, cascade).")
    p.add_argument("--texts", type=int, default=20000, help="texts for the batched fast-tier run")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--singles", type=int, default=2000, help="single-post calls for the latency figures")
    p.add_argument("--encoder-texts", type=int, default=2000)
    p.add_argument("--cascade-texts", type=int, default=5000)
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--data-dir", type=Path, default=PROJECT_ROOT.parent / "shared" / "datasets")
    p.add_argument("--models", type=Path, default=PROJECT_ROOT / "models")
    p.add_argument("--claims", type=Path, default=PROJECT_ROOT / "claims")
    p.add_argument("--out", "-o", type=Path, default=DEFAULT_OUT)
    p.add_argument("--quick", action="store_true", help="a few hundred texts (the tests use it)")
    args = p.parse_args(argv)
    if args.quick:
        args.texts, args.singles, args.encoder_texts, args.cascade_texts = 600, 50, 64, 300
    if not args.data_dir.is_dir():
        print(f"error: no datasets at {args.data_dir}", file=sys.stderr)
        return 2
    load_start = load_average()
    texts = realistic_texts(args.data_dir, args.texts, args.seed)
    fast = fast_section(args.models, args.claims, texts, args)
    semantic = semantic_section(args.models, args.claims, texts, args)
    b, s = fast["batched"], fast["single"]["latency_ms"]
    result = {
        "benchmark": "detection",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine(),
        "load_average": {"start": load_start, "end": load_average()},
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "fast": fast,
        "semantic": semantic,
        "targets": {
            **TARGETS,
            "met": {
                "fast_posts_per_s": b["posts_per_s"] >= TARGETS["fast_posts_per_s"],
                "fast_single_p99_ms": s["p99"] <= TARGETS["fast_single_p99_ms"],
                "fast_rss_mb": fast["memory_after_run"]["peak_rss_mb"] <= TARGETS["fast_rss_mb"],
            },
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"fast tier: {b['posts_per_s']} posts/s in batches of {b['batch_size']}, single p50 {s['p50']} ms "
        f"p99 {s['p99']} ms, peak RSS {fast['memory_after_run']['peak_rss_mb']} MB"
    )
    if semantic.get("available"):
        cz = semantic["cascade"]
        print(
            f"semantic encoder: {semantic['encoder']['posts_per_s']} posts/s; "
            f"cascade: {cz['posts_per_s']} posts/s, re-scores {cz['rescored_share']:.1%}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
