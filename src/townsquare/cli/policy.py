"""`townsquare policy`: list, request publishing and backtest policy versions."""

from __future__ import annotations

import typer
from rich.table import Table

from townsquare.access.service import Principal
from townsquare.cli.common import clean_errors, console, runtime
from townsquare.db import transaction
from townsquare.pipeline.score import score
from townsquare.policy import publishing, service

CLI_ACTOR = "cli:operator"

app = typer.Typer(help="Versioned policies.", no_args_is_help=True)


@app.command("list")
@clean_errors
def list_cmd() -> None:
    """Every policy version and its state."""
    with runtime() as rt, transaction(rt.sessions) as session:
        rows = service.list_versions(session)
    table = Table("area", "version", "state", "published", "hash")
    for r in rows:
        table.add_row(
            r["area"], str(r["version"]), r["state"], r["published_at"] or "", r["content_hash"][:12]
        )
    console.print(table)


@app.command("publish")
@clean_errors
def publish(
    area: str,
    version: int = typer.Option(..., "--version", "-v"),
    state: str = typer.Option("live", help="draft | shadow | live | retired"),
    reason: str = typer.Option(..., help="Why (recorded in the event log)."),
) -> None:
    """Request moving a version to a new state; a publisher approves it over the API (two-person rule)."""
    operator = Principal(actor=CLI_ACTOR, permissions=frozenset())
    with runtime() as rt, transaction(rt.sessions) as session:
        approval = publishing.request_publish(session, rt, operator, area, version, state, reason)
        approval_id, expires = approval.id, approval.expires_at
    console.print(f"approval #{approval_id} requested: publish {area} v{version} as {state}")
    console.print(
        f"a user holding policy:publish must approve it (POST /v1/approvals/{approval_id}/approve) "
        f"before {expires:%Y-%m-%d %H:%M} UTC"
    )


@app.command("backtest")
@clean_errors
def backtest(
    area: str,
    version: int = typer.Option(..., "--version", "-v"),
    samples: int = typer.Option(10, help="How many changed posts to show."),
) -> None:
    """Replay stored posts through a version and show what would change against live."""
    with runtime() as rt, transaction(rt.sessions) as session:
        result = service.backtest(session, rt, area, version, score, samples=samples)
    table = Table("outcome", "live", f"v{version}", "change", title=f"{area}: {result.posts} posts replayed")
    for key in sorted(set(result.live) | set(result.candidate)):
        a, b = result.live[key], result.candidate[key]
        table.add_row(key, str(a), str(b), f"{b - a:+d}")
    console.print(table)
    console.print(f"{result.changed} posts would be decided differently")
    for s in result.samples:
        console.print(f"  {s['post']}: {s['live']} -> {s['candidate']}: {s['text']!r}")
