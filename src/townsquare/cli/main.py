"""The `townsquare` command."""

from __future__ import annotations

import typer

from townsquare.brandsafety import cli as brandsafety
from townsquare.cli import accounts, audit, db, models, policy, users
from townsquare.cli import stream as stream_cli
from townsquare.cli.classify import classify
from townsquare.cli.ingest import ingest
from townsquare.cli.serve import demo, serve
from townsquare.transparency import cli as transparency  # issue 14

app = typer.Typer(
    help="Townsquare: trust & safety platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(accounts.app, name="accounts")
app.add_typer(policy.app, name="policy")
app.add_typer(users.app, name="users")
app.add_typer(models.app, name="models")
app.add_typer(brandsafety.app, name="brand-safety")
app.add_typer(transparency.report_app, name="report")
app.add_typer(transparency.export_app, name="export")
app.add_typer(transparency.submit_app, name="submit")
app.command("classify")(classify)
app.command("ingest")(ingest)
app.command("serve")(serve)
app.command("demo")(demo)
app.add_typer(stream_cli.app, name="stream")
app.command("worker")(stream_cli.worker)

if __name__ == "__main__":
    app()
