#!/usr/bin/env python
"""Learning benchmark: do the models get better from their own reviewers' decisions?

Round 0 replays an exposure-benchmark day (`bench/exposure.py`: same stream construction, same replay,
same simulated senior moderator who follows the label except on 5 % of decisions) with the live models.
After each round, the round's human decisions are exported exactly as `townsquare models export-labels`
writes them (`review.labels.labelled`) and the taught fast heads are retrained with every decision so far
folded in (`models retrain`'s `reviewer-decisions` parts, on a copy of the models). The next round replays
a new day (next seed) with the retrained models. Reported per round: views prevented, the share of
violating posts among posts that had a case (queue precision), cases opened and violating views on posts
that ever had a case.

The stream is built from the datasets' test splits (as the exposure benchmark's is), so the retrained
models here are never compared on those test splits; this benchmark measures only the stream.

Run: `.venv/bin/python bench/learning.py [--posts N] [--rounds R] [--capacity C] [--sample N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import exposure as ex  # noqa: E402  (read-only use of the exposure benchmark's stream and replay)
from bench_common import load_average, machine  # noqa: E402
from townsquare.config import PROJECT_ROOT, Settings  # noqa: E402
from townsquare.db import transaction  # noqa: E402
from townsquare.detection.artifacts import MANIFEST, Manifest, read_manifest, write_manifest  # noqa: E402
from townsquare.detection.training import pipeline, retrain  # noqa: E402
from townsquare.review.labels import labelled  # noqa: E402
from townsquare.runtime import build_runtime  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "learning.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--posts", type=int, default=10_000, help="posts per simulated day (exposure: 50,000)")
    p.add_argument("--accounts", type=int, default=1_000)
    p.add_argument("--rounds", type=int, default=2, help="retraining rounds after the first day")
    p.add_argument("--capacity", type=float, default=0.01, help="review decisions as a share of posts")
    p.add_argument("--seed", type=int, default=ex.DEFAULTS["seed"])
    p.add_argument("--sample", type=int, default=None, help="rows per dataset split when retraining (quick)")
    p.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    p.add_argument("--models-dir", type=Path, default=PROJECT_ROOT / "models")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    return p.parse_args(argv)


def fast_copy(source: Path, target: Path) -> None:
    """The fast tier and claims of a models directory (the semantic tier is left out: CPU-bound here)."""
    m = read_manifest(source)
    files = {k: v for k, v in m.files.items() if not k.startswith("semantic/")}
    for rel in files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target / rel)
    versions = {k: v for k, v in m.versions.items() if k != "semantic"}
    write_manifest(target, Manifest(files, versions, m.created, m.data))


def decisions_of(folder: Path) -> list[dict[str, Any]]:
    """A finished variant's human decisions, as `models export-labels` writes them."""
    rt = build_runtime(ex.settings_for(folder))
    try:
        with transaction(rt.sessions) as session:
            return list(labelled(session))
    finally:
        rt.dispose()


def as_decisions(rows: list[dict[str, Any]], round_no: int) -> list[retrain.Decision]:
    """Export rows for trained heads, keyed by round and case."""
    out = []
    for r in rows:
        if r.get("head") in retrain.fit.HEADS and r["head"] != "targeted":
            key = f"r{round_no}:{r['case_id']}:{r['head']}"
            out.append(
                retrain.Decision(key, r["text"], int(r["label"]), r["head"], f"{round_no}:{r['decided_at']}")
            )
    return out


def round_figures(stream: ex.Stream, out: ex.Outcome, n: int, secs: float) -> dict[str, Any]:
    """A round's exposure figures (policy-matched) plus the violating share of posts with a case."""
    figs = ex.figures(stream, out, n, secs, len(stream.violating))
    had_case = out.reviewed
    figs["case_precision"] = round(float(stream.violating[had_case].mean()), 4) if had_case.any() else 0.0
    figs.pop("view_snapshots", None)
    return figs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started, wall = datetime.now(UTC), time.perf_counter()
    load_start = load_average()
    pools = ex.load_pools(args.data_dir)
    n = round(args.capacity * args.posts)
    work = Path(tempfile.mkdtemp(prefix="townsquare-learning-"))
    rounds: list[dict[str, Any]] = []
    folded: list[retrain.Decision] = []
    try:
        models = work / "models-0"
        fast_copy(args.models_dir, models)
        for r in range(args.rounds + 1):
            stream = ex.make_stream(pools, args.posts, args.accounts, n, args.seed + r)
            os.environ["TOWNSQUARE_MODELS_DIR"] = str(models)
            token = ex.build_template(work / f"template-{r}", stream, ex.Clock())
            out, secs = ex.run_variant(
                work, work / f"template-{r}" / "townsquare.db", stream, token, n, "priority", f"round-{r}"
            )
            figs = round_figures(stream, out, n, secs)
            figs["round"] = r
            figs["trained_on_decisions"] = len(folded)
            figs["models"] = json.loads((models / MANIFEST).read_text())["files"]
            rounds.append(figs)
            print(
                f"round {r}: views prevented {figs['views_prevented']:.3f}, case precision "
                f"{figs['case_precision']:.3f}, cases {figs['cases_opened']}, trained on {len(folded)}",
                flush=True,
            )
            if r == args.rounds:
                break
            folded += as_decisions(decisions_of(work / f"round-{r}"), r)
            heads = sorted({d.head for d in folded})
            nxt = work / f"models-{r + 1}"
            fast_copy(models, nxt)
            if heads:
                pipeline.train(
                    args.data_dir, nxt, PROJECT_ROOT / "claims", only=heads, sample=args.sample,
                    log=lambda s: print(s, flush=True), extra=retrain.reviewer_parts(folded),
                )  # fmt: skip
            models = nxt
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = rounds[0]
    result = {
        "benchmark": "learning",
        "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": round(time.perf_counter() - wall, 1),
        "machine": machine(),
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "parameters": {
            "posts": args.posts,
            "accounts": args.accounts,
            "capacity": args.capacity,
            "rounds": args.rounds,
            "seed": args.seed,
            "sample": args.sample,
            "semantic": False,
        },
        "rounds": rounds,
        "moves": [
            {
                "round": f["round"],
                "views_prevented_change": round(f["views_prevented"] - base["views_prevented"], 4),
                "case_precision_change": round(f["case_precision"] - base["case_precision"], 4),
            }
            for f in rounds[1:]
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    _ = np
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
