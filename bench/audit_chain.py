#!/usr/bin/env python
"""Event-log benchmark: what keeping the chain sealed and checkpointed during a load costs, and what
`audit verify` and `audit reconcile` cost, alone and while writers commit.

On a fresh SQLite database (WAL) per variant, demo accounts and posts built from the datasets (text banks
only) are loaded with the bulk loader in slices of `--slice` posts (each slice is a few transactions, like
a platform sending small batches):

* `end_only`: the slices, then one seal and checkpoint at the end (the behaviour before checkpoints every
  N batches);
* `keeping`: the same slices inside `chain.keeping` (seal between chunks every `seal_interval_s`, sign a
  checkpoint every `--every` batches or 60 s), as `townsquare ingest` now runs.

`keeping_over_end_only` is the ratio of the two load times in this run. On the `keeping` database it
reports the checkpoints signed during the load and the largest gap between two of them (the widest
unprotected tail, in batches); then `audit verify` and `audit reconcile`, each `--repeats` times
(median); then both again while a writer thread keeps committing slices, counting false alarms (any
`ok: false` on this intact log is one; the target is 0).

Run: `.venv/bin/python bench/audit_chain.py [--quick] [--posts N] [--out PATH]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench_common import Record, chunks, load_average, load_corpus, machine, timed
from townsquare.cli.db import upgrade
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.content import bulk
from townsquare.db import transaction
from townsquare.eventlog import chain
from townsquare.eventlog import reconcile as audit_reconcile
from townsquare.eventlog.events import Checkpoint, EventBatch
from townsquare.runtime import Runtime, build_runtime

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "audit_chain.json"
Line = tuple[int, dict[str, Any] | None, str | None]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options (see the module docstring)."""
    p = argparse.ArgumentParser(description="Event-log keeping, verify and reconcile benchmark (SQLite).")
    p.add_argument("--posts", type=int, default=3000, help="posts loaded per variant")
    p.add_argument("--slice", type=int, default=20, help="posts per bulk-load call")
    p.add_argument("--every", type=int, default=100, help="checkpoint_every_batches")
    p.add_argument("--seal-interval", type=float, default=0.5, help="seal_interval_s (0: a pass per chunk)")
    p.add_argument("--repeats", type=int, default=3, help="verify and reconcile runs (median)")
    p.add_argument("--under-writes", type=int, default=5, help="verify and reconcile runs during writes")
    p.add_argument("--seed", type=int, default=20261121)
    default_data = os.environ.get("TOWNSQUARE_DATA_DIR", str(PROJECT_ROOT.parent / "shared" / "datasets"))
    p.add_argument("--data-dir", type=Path, default=Path(default_data))
    p.add_argument("--out", "-o", type=Path, default=DEFAULT_OUT)
    p.add_argument("--quick", action="store_true", help="200 posts, 1 repeat, 2 runs under writes")
    args = p.parse_args(argv)
    if args.quick:
        args.posts, args.repeats, args.under_writes = min(args.posts, 200), 1, 2
    return args


def _runtime(workdir: Path, name: str, args: argparse.Namespace) -> Runtime:
    url = f"sqlite:///{workdir / name}.db"
    upgrade(url)
    settings = Settings(
        database_url=url,
        signing_key_path=workdir / "keys" / "checkpoint.ed25519",
        checkpoint_log_path=workdir / "keys" / f"{name}.jsonl",
        link_key_path=workdir / "keys" / "links.key",
        webhook_secret_path=workdir / "keys" / "webhook.secret",
        data_dir=args.data_dir,
        models_enabled=False,
        checkpoint_every_batches=args.every,
        seal_interval_s=args.seal_interval,
    )
    return build_runtime(settings)


def _slices(accounts: list[Record], posts: list[Record], size: int, tag: str = "") -> Iterator[list[Line]]:
    yield [
        (n, {"kind": "account", **a, "platform_id": a["platform_id"] + tag}, None)
        for n, a in enumerate(accounts)
    ]
    for part in chunks(posts, size):
        yield [
            (
                n,
                {
                    "kind": "post",
                    **p,
                    "platform_id": p["platform_id"] + tag,
                    "author": p["author"] + tag,
                    "reply_to": None,
                    "quote_of": None,
                },
                None,
            )
            for n, p in enumerate(part)
        ]


def _count(rt: Runtime, column: Any) -> int:
    with transaction(rt.sessions) as session:
        return int(session.scalar(select(func.count(column))) or 0)


def _load(rt: Runtime, slices: list[list[Line]], keeping: bool) -> float:
    start = time.perf_counter()
    if keeping:
        with chain.keeping(rt) as step:
            for part in slices:
                bulk.load(rt, part, progress=step)
    else:
        for part in slices:
            bulk.load(rt, part)
        chain.checkpoint(rt)
    return time.perf_counter() - start


def _median(fn: Any, repeats: int) -> tuple[Any, float]:
    runs = [timed(fn) for _ in range(repeats)]
    return runs[-1][0], round(statistics.median(t for _, t in runs), 4)


def _under_writes(
    rt: Runtime, accounts: list[Record], posts: list[Record], args: argparse.Namespace
) -> dict[str, Any]:
    stop = threading.Event()
    written = [0]
    few = posts[:50]
    authors = {p["author"] for p in few}
    their = [a for a in accounts if a["platform_id"] in authors]

    def writer() -> None:
        round_ = 0
        while not stop.is_set():
            round_ += 1
            for part in _slices(their, few, 5, tag=f"-w{round_}"):
                bulk.load(rt, part)
                written[0] += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    verify_false = reconcile_false = 0
    try:
        for _ in range(args.under_writes):
            verify_false += not chain.verify(rt).ok
            reconcile_false += not audit_reconcile.run(rt).ok
    finally:
        stop.set()
        thread.join()
    return {
        "runs": args.under_writes,
        "verify_false_alarms": verify_false,
        "reconcile_false_alarms": reconcile_false,
        "slices_written_meanwhile": written[0],
    }


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Both variants, then verify and reconcile on the `keeping` database."""
    corpus = load_corpus(args.data_dir, args.posts, args.seed, datetime.now(UTC))
    loads = {}
    for name in ("end_only", "keeping"):
        rt = _runtime(workdir, name, args)
        slices = list(_slices(corpus.accounts, corpus.posts, args.slice))  # the loader consumes them
        loads[name] = round(_load(rt, slices, keeping=name == "keeping"), 3)
        if name == "end_only":
            rt.dispose()
    with transaction(rt.sessions) as session:
        signed = [int(s) for s in session.scalars(select(Checkpoint.seq).order_by(Checkpoint.id))]
    gaps = [b - a for a, b in zip([0, *signed], signed, strict=False)]
    batches = _count(rt, EventBatch.id)
    verified, verify_s = _median(lambda: chain.verify(rt), args.repeats)
    reconciled, reconcile_s = _median(lambda: audit_reconcile.run(rt), args.repeats)
    under = _under_writes(rt, corpus.accounts, corpus.posts, args)
    out = {
        "load_s": loads,
        "keeping_over_end_only": round(loads["keeping"] / loads["end_only"], 3),
        "batches": batches,
        "checkpoints_during_load": len(signed),
        "widest_unprotected_tail_batches": max(gaps, default=0),
        "verify": {
            "median_s": verify_s,
            "ok": verified.ok,
            "events": verified.events,
            "batches": verified.batches,
        },
        "reconcile": {"median_s": reconcile_s, "ok": reconciled.ok, "checked": reconciled.checked},
        "under_writes": under,
        "source": corpus.source,
    }
    rt.dispose()
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the JSON, print a summary; 1 when the intact log raised any alarm."""
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ts-bench-audit-") as tmp:
        result = run(args, Path(tmp))
    doc = {
        "benchmark": "audit_chain",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average": load_average(),
        "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
        **result,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(
        json.dumps(
            {k: doc[k] for k in ("load_s", "keeping_over_end_only", "verify", "reconcile", "under_writes")}
        )
    )
    under = result["under_writes"]
    alarms = under["verify_false_alarms"] + under["reconcile_false_alarms"]
    return 1 if alarms or not (result["verify"]["ok"] and result["reconcile"]["ok"]) else 0


if __name__ == "__main__":
    sys.exit(main())
