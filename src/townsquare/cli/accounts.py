"""`townsquare accounts`: erase an account's personal data."""

from __future__ import annotations

import typer

from townsquare.cli.common import clean_errors, console, runtime
from townsquare.content import accounts
from townsquare.db import transaction

app = typer.Typer(help="Accounts.", no_args_is_help=True)


@app.command("erase")
@clean_errors
def erase(
    platform_id: str = typer.Argument(..., help="The account's platform id."),
    reason: str = typer.Option("data subject erasure request", help="Why (recorded in the event log)."),
) -> None:
    """Delete the account's key and personal fields; the event chain stays verifiable."""
    with runtime() as rt, transaction(rt.sessions) as session:
        accounts.erase_account(session, rt, platform_id, "cli:operator", reason)
    console.print(f"erased {platform_id}: its personal fields in the event log are now unreadable")
