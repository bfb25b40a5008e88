"""`townsquare worker` and `townsquare stream status|dead|retry`: run and watch stream ingest."""

from __future__ import annotations

import contextlib
import faulthandler
import json
import logging
import signal
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from townsquare.cli.common import clean_errors, console, fail, runtime
from townsquare.config import get_settings
from townsquare.eventlog.chain import ChainKeeper
from townsquare.runtime import settle_heap

app = typer.Typer(help="Stream ingest: backlog, workers, dead letters.", no_args_is_help=True)


def _need_redis() -> None:
    if not get_settings().redis_url:
        fail("stream ingest needs TOWNSQUARE_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")


@clean_errors
def worker(
    name: str = typer.Option("", help="Consumer name (default: host-pid); reuse it to recover its pending."),
    seal: bool = typer.Option(True, help="Also keep the event chain sealed (one sealer at a time)."),
    metrics_port: int = typer.Option(0, help="Serve Prometheus metrics on this port (0: off)."),
    exit_when_idle: float = typer.Option(
        0.0, help="Stop after this many seconds with nothing to do (0: never)."
    ),
) -> None:
    """Process stream messages: decide and store posts, edits, deletions, view snapshots and reports."""
    _need_redis()
    from townsquare.pipeline.warm import warm
    from townsquare.stream.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with contextlib.suppress(ValueError, OSError, AttributeError):  # stderr without a file (tests)
        faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints every thread's stack
    with runtime() as rt:
        warm(rt)  # the first batch should not pay for compiling the models' indexes
        w = Worker(rt, name=name or None)
        keeper = ChainKeeper(rt) if seal else None
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, addr="127.0.0.1")
        signal.signal(signal.SIGTERM, lambda *_: w.stop())
        signal.signal(signal.SIGINT, lambda *_: w.stop())
        if keeper:
            keeper.start()
        console.print(
            f"worker {w.name}: reading {rt.settings.stream_shards} shards at {rt.settings.redis_url}"
        )
        settle_heap()
        try:
            w.run(max_idle_s=exit_when_idle or None)
        finally:
            if keeper:
                keeper.stop()
        console.print(f"worker {w.name}: stopped after {w.applied} messages")


@app.command("status")
@clean_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The backlog per shard, dead letters, live workers."""
    _need_redis()
    from townsquare.stream import service

    with runtime() as rt:
        out = service.status(rt)
    if as_json:
        console.print_json(json.dumps(out))
        return
    if out.get("redis") != "ok":
        fail(f"redis {out.get('redis')}")
    table = Table(title=f"stream backlog: {out['backlog']} (bound {out['max_backlog']}), dead {out['dead']}")
    for col in ("shard", "lag", "pending", "length", "worker"):
        table.add_column(col)
    for row in out["per_shard"]:
        table.add_row(
            *(
                str(row[c] if row[c] is not None else "-")
                for c in ("shard", "lag", "pending", "length", "worker")
            )
        )
    console.print(table)
    console.print(f"workers: {', '.join(out['workers']) or 'none'}")


@app.command("dead")
@clean_errors
def dead_list(limit: int = typer.Option(50, min=1, max=1000)) -> None:
    """Dead-lettered messages with their errors."""
    _need_redis()
    from townsquare.stream import dead, service

    with runtime() as rt:
        items = dead.entries(service.producer(rt.settings).client, rt.settings, limit)
    table = Table(title=f"{len(items)} dead-lettered message(s)")
    for col in ("id", "kind", "account", "deliveries", "error"):
        table.add_column(col)
    for it in items:
        table.add_row(
            it["id"], str(it["kind"]), str(it["account"]), str(it["deliveries"]), str(it["error"])[:120]
        )
    console.print(table)


@app.command("retry")
@clean_errors
def retry(dead_id: str = typer.Argument(..., help="The dead-letter entry id (see `stream dead`).")) -> None:
    """Put a dead-lettered message back on its stream (once)."""
    _need_redis()
    from townsquare.stream.api import retry as do_retry

    with runtime() as rt:
        out = do_retry(rt, dead_id, "cli:stream-retry")
    console.print(f"retried {out['retried']} as {out['message']}")


def ingest_stream(path: Path, records: Any) -> dict[str, int]:
    """Append a JSONL file's records to the streams in chunks; returns counts per kind and rejections."""
    from townsquare.stream import keys, service
    from townsquare.stream.producer import Backpressure

    counts: dict[str, int] = {}
    chunk: list[tuple[str, dict[str, Any]]] = []
    with runtime() as rt:

        def flush() -> None:
            import time

            while chunk:
                try:
                    service.enqueue(rt, chunk, "service:stream-ingest")
                    chunk.clear()
                except Backpressure as exc:  # wait for the workers rather than give up
                    time.sleep(float((exc.headers or {}).get("Retry-After", "1")))

        for line, record, problem in records:
            kind = record.pop("kind", None) if isinstance(record, dict) else None
            if problem or kind not in keys.KINDS:
                counts["rejected"] = counts.get("rejected", 0) + 1
                console.print(f"[yellow]rejected[/yellow] line {line}: {problem or 'unknown kind'}")
                continue
            chunk.append((kind, record))
            counts[kind] = counts.get(kind, 0) + 1
            if len(chunk) >= 1000:
                flush()
        flush()
    return counts
