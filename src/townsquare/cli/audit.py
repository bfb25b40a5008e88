"""`townsquare audit`: verify the chain, reconcile projections, sign checkpoints, search events, alerts."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from townsquare.access import insider
from townsquare.cli.common import clean_errors, console, err, fail, runtime
from townsquare.db import transaction
from townsquare.eventlog import chain
from townsquare.eventlog import query as aq
from townsquare.eventlog import reconcile as audit_reconcile
from townsquare.runtime import Runtime

app = typer.Typer(help="The tamper-evident event log.", no_args_is_help=True)


@app.command("verify")
@clean_errors
def verify() -> None:
    """Re-derive every hash and check every signed checkpoint; prints OK or the first problem."""
    with runtime() as rt:
        result = chain.verify(rt)
    if result.ok:
        cp = result.latest_checkpoint
        signed = f"; latest checkpoint seq {cp['seq']} at {cp['signed_at']}" if cp else "; no checkpoint yet"
        pending = f"; {result.pending} batch(es) committed since, not yet sealed" if result.pending else ""
        console.print(
            f"OK: {result.events} events in {result.batches} batches, head seq {result.head_seq}"
            f"{signed}{pending}"
        )
        return
    err.print(f"TAMPERED: {result.problems[0]}")
    for extra in result.problems[1:5]:
        err.print(f"  also: {extra}")
    raise typer.Exit(1)


@app.command("reconcile")
@clean_errors
def reconcile() -> None:
    """Replay the event log and name every projection that disagrees with it; exits 1 if any does."""
    with runtime() as rt:
        result = audit_reconcile.run(rt)
    checked = ", ".join(f"{n} {kind}" for kind, n in result.checked.items())
    if result.ok:
        console.print(f"OK: every projection agrees with the event log ({checked})")
        return
    for found in result.disagreements:
        err.print(f"DISAGREES {found.message()}", markup=False, soft_wrap=True)
    if result.total > len(result.disagreements):
        err.print(f"  and {result.total - len(result.disagreements)} more")
    err.print(f"{result.total} projection(s) disagree with the event log ({checked})")
    raise typer.Exit(1)


@app.command("checkpoint")
@clean_errors
def checkpoint() -> None:
    """Seal pending batches and sign the chain head now."""
    with runtime() as rt:
        cp = chain.checkpoint(rt)
    console.print(f"checkpoint: seq {cp['seq']} {cp['chain_hash']} signed at {cp['signed_at']}")


def _subject(subject: str | None) -> tuple[str | None, str | None]:
    if not subject:
        return None, None
    kind, _, ident = subject.partition(":")
    return kind, ident or None


@app.command("events")
@clean_errors
def list_events(
    actor: str | None = typer.Option(None, help="Exact actor, e.g. user:alice."),
    type_: str | None = typer.Option(None, "--type", help="Event type, or a prefix ending in *: action.*"),
    subject: str | None = typer.Option(None, help="TYPE or TYPE:ID, e.g. account:acct-1."),
    since: str | None = typer.Option(None, help="ISO 8601; events at or after."),
    until: str | None = typer.Option(None, help="ISO 8601; events at or before."),
    format: str = typer.Option(
        "table", "--format", help="table (newest first), json or csv (all, oldest first)."
    ),
    limit: int = typer.Option(50, help="Rows in the table format."),
) -> None:
    """Search the event log; json and csv print every match, as the API's exports do."""
    if format not in ("table", "json", "csv"):
        fail("--format is table, json or csv")
    subject_type, subject_id = _subject(subject)
    filters = aq.parse_filters(
        actor=actor, subject_type=subject_type, subject_id=subject_id, type=type_, since=since, until=until
    )
    with runtime() as rt:
        if format == "table":
            _table(rt, filters, aq.check_limit(limit))
            return
        rows = aq.iter_events(rt.sessions, filters)
        chunks = aq.json_stream(rows, filters, rt.now()) if format == "json" else aq.csv_stream(rows)
        for chunk in chunks:
            sys.stdout.write(chunk)
        sys.stdout.write("\n" if format == "json" else "")


def _table(rt: Runtime, filters: aq.EventFilters, limit: int) -> None:
    with transaction(rt.sessions) as session:
        rows, more = aq.page(session, filters, limit=limit, cursor=None)
        found = aq.views(session, rows)
    table = Table("id", "time", "type", "actor", "subject", "flags", "reason")
    for e in found:
        subject = f"{e['subject']['type']} {e['subject']['id']}"
        table.add_row(
            str(e["id"]), e["occurred_at"], e["type"], e["actor"], subject, ",".join(e["flags"]), e["reason"]
        )
    console.print(table)
    if more:
        console.print(f"(showing the newest {limit}; use --limit, or --format csv for every match)")


@app.command("alerts")
@clean_errors
def alerts(
    dry_run: bool = typer.Option(False, "--dry-run", help="Evaluate and print findings; raise no alerts."),
) -> None:
    """Evaluate the insider-risk rule, raise alerts for new findings, and list the open alerts."""
    with runtime() as rt, transaction(rt.sessions) as session:
        findings = insider.evaluate(session, rt)
        if dry_run:
            for f in findings:
                console.print(f"[{f.rule}] {f.message}", markup=False)
            console.print(f"{len(findings)} finding(s); nothing recorded (--dry-run)")
            return
        created = insider.record_alerts(session, findings, actor="cli:operator", now=rt.now())
        open_now = [insider.alert_view(a) for a in insider.open_alerts(session)]
    table = Table("id", "raised", "actor", "rule", "finding")
    for a in open_now:
        table.add_row(str(a["id"]), a["created_at"], a["actor"], str(a["rule"]), a["message"])
    console.print(table)
    console.print(f"{len(findings)} finding(s), {len(created)} new alert(s), {len(open_now)} open")
