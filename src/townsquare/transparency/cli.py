"""`townsquare report transparency`, `townsquare export dsa`, `townsquare submit dsa`."""

from __future__ import annotations

from pathlib import Path

import typer

from townsquare.cli.common import clean_errors, console, fail, runtime
from townsquare.db import transaction
from townsquare.transparency import html
from townsquare.transparency import report as builder

report_app = typer.Typer(help="Reports computed from the event log.", no_args_is_help=True)
export_app = typer.Typer(help="Exports for regulators.", no_args_is_help=True)
submit_app = typer.Typer(help="Submissions to regulators' services.", no_args_is_help=True)


def _fresh_dir(output: Path) -> None:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        fail(f"--output {output} exists and is not an empty directory; nothing was written")


@report_app.command("transparency")
@clean_errors
def transparency(
    first: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD, UTC)."),
    last: str = typer.Option(..., "--to", help="Last day of the period (YYYY-MM-DD, UTC), included."),
    output: Path = typer.Option(..., "--output", "-o", help="An empty or new directory."),
    vlop: bool | None = typer.Option(
        None, "--vlop/--no-vlop", help="Fill VLOP-only rows (default: settings)."
    ),
) -> None:
    """Write the eleven DSA CSV parts, report.json and index.html for a period."""
    with runtime() as rt:
        period = builder.parse_period(first, last, rt.now().date())
        _fresh_dir(output)
        with transaction(rt.sessions) as session:
            rep = builder.build(session, rt, period, vlop=vlop)
        files = builder.write(rep, output, html.render(rep))
    console.print(f"wrote {len(files)} files for {period.label} → {output}")


def _batch_path(output: Path, n: int) -> Path:
    return output if n == 1 else output.with_name(f"{output.stem}-{n:04d}{output.suffix or '.json'}")


@export_app.command("dsa")
@clean_errors
def export_dsa(
    output: Path = typer.Option(
        ..., "--output", "-o", help="FILE.json; further batches go to FILE-0002.json …"
    ),
    since: str | None = typer.Option(None, "--since", help="A cursor printed by an earlier export."),
) -> None:
    """Write statements of reasons as {"statements": [...]} files of at most 100 (Transparency Database)."""
    from townsquare.transparency import sor

    with runtime() as rt, transaction(rt.sessions) as session:
        after = sor.read_cursor(session, rt, since)  # refuses a forged or stale cursor before writing
        if not output.parent.exists():
            fail(f"--output: directory {output.parent} does not exist; nothing was written")
        batches = []
        while True:
            statements, last = sor.export_batch(session, rt, after)
            if not statements:
                break
            batches.append(statements)
            after = last
        for n, statements in enumerate(batches or [[]], 1):
            _batch_path(output, n).write_bytes(sor.body(statements))
        cursor = sor.make_cursor(rt, after)
    total = sum(len(b) for b in batches)
    console.print(f"exported {total} statements in {max(len(batches), 1)} file(s) → {output}")
    console.print(f"next cursor: {cursor}", soft_wrap=True)


@submit_app.command("dsa")
@clean_errors
def submit_dsa(
    endpoint: str = typer.Option(..., "--endpoint", help="The Transparency Database base URL."),
    token_file: Path = typer.Option(..., "--token-file", help="A file holding the platform's API token."),
    attempts: int = typer.Option(6, "--attempts", min=1, help="Tries per batch on 5xx answers and timeouts."),
    backoff: float = typer.Option(0.5, "--backoff", min=0.0, help="First retry delay in seconds (doubles)."),
) -> None:
    """Send every statement not yet sent, from the stored cursor; safe to run again after a failure."""
    from townsquare.transparency.submit import Submitter

    if not token_file.is_file():
        fail(f"--token-file {token_file} does not exist")
    token = token_file.read_text(encoding="utf-8")
    with runtime() as rt:
        out = Submitter(rt, endpoint, token, attempts=attempts, backoff_s=backoff).run()
    console.print(
        f"sent {out.created} statements in {out.batches} batch(es); {out.duplicates} already held "
        f"(puid not unique); {out.retries} retries; cursor at action {out.cursor}"
    )
