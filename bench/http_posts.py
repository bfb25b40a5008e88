#!/usr/bin/env python
"""Single posts over HTTP only: the `http_single_posts` part of bench/scale.py, without the workers.

`townsquare serve` on a fresh SQLite file and a fresh PostgreSQL database (dropped afterwards), one
client and then eight concurrent clients sending single posts, the fast models on. Prints posts/s,
the service's CPU per post (the figure to trust on a shared machine) and latency, with the load.

Run: `PYTHONPATH=src .venv/bin/python bench/http_posts.py [--http-posts 150] [--backends sqlite,postgres]`
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scale
from bench_common import load_average, load_corpus
from townsquare.config import Settings


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--http-posts", type=int, default=150, help="Single posts per phase (8 x half of it).")
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--out", type=Path, default=None, help="Also write the figures as JSON here.")
    args = p.parse_args()
    os.environ["TOWNSQUARE_SEMANTIC"] = "false"  # the fast models, in the service too
    made: list[str] = []
    new_pg_db = scale.new_pg_db

    def tracked(tag: str) -> str:
        made.append(new_pg_db(tag))
        return made[-1]

    scale.new_pg_db = tracked
    corpus = load_corpus(Settings().data_dir, 2000, args.seed, datetime.now(UTC))
    out: dict[str, object] = {"corpus": corpus.source, "started": datetime.now(UTC).isoformat()}
    try:
        with tempfile.TemporaryDirectory(prefix="ts-http-posts-") as tmp:
            for backend in args.backends.split(","):
                figures = scale.http_figures(args, corpus, Path(tmp), backend)
                figures["load_average"] = load_average()
                out[backend] = figures
                for phase in ("single", "concurrent_8"):
                    f = figures[phase]
                    print(
                        f"{backend:8} {phase:12} {f['posts_per_s']:7.1f} posts/s  "
                        f"{f['service_cpu_ms_per_post']} ms service CPU/post  "
                        f"p50/p99 {f['latency_ms'].get('p50')}/{f['latency_ms'].get('p99')} ms  "
                        f"load {figures['load_average']}",
                        flush=True,
                    )
    finally:
        for url in made:
            scale.drop_pg_db(url)
    if args.out:
        args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
