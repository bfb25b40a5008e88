"""`townsquare ingest FILE.jsonl`: bulk-load platform records with a progress bar and a summary."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from townsquare.cli.common import clean_errors, console, fail, runtime
from townsquare.content import bulk
from townsquare.eventlog import chain
from townsquare.runtime import Runtime


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, record, parse error) for each non-blank line."""
    with path.open(encoding="utf-8", errors="strict") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, None, f"not valid JSON ({exc.msg} at column {exc.colno})"
                continue
            if not isinstance(record, dict):
                yield n, None, "each line must be a JSON object"
                continue
            yield n, record, None


def print_summary(summary: bulk.Summary, seconds: float) -> None:
    """A table of what was loaded and decided."""
    table = Table(title="Ingest summary")
    for col in ("kind", "created", "duplicates", "rejected"):
        table.add_column(col, justify="right" if col != "kind" else "left")
    for kind in (*bulk.KINDS, "line"):
        if summary.created[kind] or summary.duplicates[kind] or summary.rejected[kind]:
            table.add_row(
                kind, str(summary.created[kind]), str(summary.duplicates[kind]), str(summary.rejected[kind])
            )
    console.print(table)
    posts = summary.created["post"]
    console.print(f"decisions: {dict(summary.outcomes)}; automated actions: {dict(summary.actions)}")
    console.print(
        f"{seconds:.1f}s in all ({posts} posts decided and stored, with their accounts, metrics and reports)"
    )
    for line in summary.errors[:10]:
        console.print(f"[yellow]rejected[/yellow] {line}")


def ingest_file(rt: Runtime, path: Path, *, show_progress: bool = True) -> bulk.Summary:
    """Load a JSONL file into the database, sealing and checkpointing the event chain as it goes."""
    with path.open(encoding="utf-8") as fh:
        total = sum(1 for line in fh if line.strip())
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not show_progress,
    ) as bar:
        task = bar.add_task("ingest", total=total)
        with chain.keeping(rt, lambda n: bar.advance(task, n)) as step:
            summary = bulk.load(rt, read_jsonl(path), progress=step)
    return summary


@clean_errors
def ingest(
    path: Path = typer.Argument(..., help="JSONL file: one record per line with a 'kind'."),
    stream: bool = typer.Option(
        False, "--stream", help="Append to Redis Streams for `townsquare worker` instead of deciding here."
    ),
) -> None:
    """Ingest accounts, posts, metrics and reports from a JSONL file."""
    if not path.is_file():
        fail(f"{path}: no such file")
    if stream:
        from townsquare.cli.stream import _need_redis, ingest_stream

        _need_redis()
        counts = ingest_stream(path, read_jsonl(path))
        console.print(f"queued: { {k: v for k, v in counts.items() if k != 'rejected'} }")
        if counts.get("rejected"):
            raise typer.Exit(1)
        return
    with runtime() as rt:
        start = time.perf_counter()
        try:
            summary = ingest_file(rt, path)
        except UnicodeDecodeError as exc:
            fail(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})")
            return
        print_summary(summary, time.perf_counter() - start)
    if sum(summary.rejected.values()):
        raise typer.Exit(1)
