"""`townsquare users`: bootstrap the first admin, create, list, disable, grant, revoke, issue tokens.

The CLI acts as the operator `cli:operator`. Whoever has a shell on the server can read the database
and the signing key anyway, so shell access is operator-level access: these commands are not bound by
"no one may grant more than they hold" nor by the two-person rule, and every change is still an event.
"""

from __future__ import annotations

import typer
from rich.table import Table

from townsquare.access import bootstrap, service, staff
from townsquare.cli.common import clean_errors, console, runtime
from townsquare.db import transaction
from townsquare.errors import Conflict

OPERATOR = "cli:operator"

app = typer.Typer(help="Staff users, roles and API tokens (acts as the operator).", no_args_is_help=True)


@app.command("bootstrap")
@clean_errors
def bootstrap_cmd(username: str = typer.Argument(..., help="The first admin's username.")) -> None:
    """Create the first admin and print a one-time password; refused once any admin exists."""
    with runtime() as rt, transaction(rt.sessions) as session:
        password = bootstrap.bootstrap_admin(session, rt, username)
    console.print(f"created admin [bold]{username}[/bold]")
    console.print(f"one-time password (shown once; change it at first login): {password}", highlight=False)


@app.command("create")
@clean_errors
def create(
    username: str = typer.Argument(..., help="The new user's username."),
    role: list[str] = typer.Option([], "--role", "-r", help="A role to grant (repeatable)."),
    service_account: bool = typer.Option(
        False,
        "--service",
        help="A platform service: no password, a token instead (role platform by default).",
    ),
    display_name: str = typer.Option("", help="A display name."),
) -> None:
    """Create a person (prints a one-time password) or, with --service, a service (prints a token)."""
    with runtime() as rt, transaction(rt.sessions) as session:
        now = rt.now()
        if service_account:
            user = service.create_user(
                session, username=username, actor=OPERATOR, now=now, display_name=display_name, kind="service"
            )
            secret = ""
        else:
            user, secret = staff.create_person(
                session, rt, username, actor=OPERATOR, display_name=display_name
            )
        for r in role or (["platform"] if service_account else []):
            service.grant_role(
                session, None, user, r, actor=OPERATOR, now=now, reason="created by the operator"
            )
        if service_account:
            secret, _ = service.create_token(
                session,
                user,
                name=f"{username} service",
                scopes=None,
                days=rt.settings.token_days,
                actor=OPERATOR,
                now=now,
            )
    console.print(f"created {'service' if service_account else 'user'} [bold]{username}[/bold]")
    label = "API token" if service_account else "one-time password (change it at first login)"
    console.print(f"{label}, shown once: {secret}", highlight=False)


@app.command("list")
@clean_errors
def list_cmd() -> None:
    """Every staff user: kind, status, roles, failed logins in a row and last login."""
    with runtime() as rt, transaction(rt.sessions) as session:
        rows = staff.list_users(session, rt)
    table = Table(title="Staff users")
    for col in ("username", "kind", "status", "roles", "failed logins", "last login"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["username"],
            r["kind"],
            r["status"],
            ", ".join(r["roles"]) or "-",
            str(r["failed_logins"]),
            r["last_login_at"] or "never",
        )
    console.print(table)


@app.command("disable")
@clean_errors
def disable(
    username: str = typer.Argument(..., help="The user to disable."),
    reason: str = typer.Option("disabled by the operator", help="Why (recorded in the event log)."),
) -> None:
    """Disable a user; their sessions and tokens are revoked at once."""
    with runtime() as rt, transaction(rt.sessions) as session:
        out = staff.disable_user(session, rt, username, actor=OPERATOR, reason=reason)
    revoked = f"{out['sessions_revoked']} session(s) and {out['tokens_revoked']} token(s) revoked"
    console.print(f"disabled {username}: {revoked}")


@app.command("grant")
@clean_errors
def grant(
    username: str = typer.Argument(..., help="The user."),
    role: str = typer.Argument(..., help="The role to grant."),
    reason: str = typer.Option(..., "--reason", help="Why (recorded in the event log)."),
) -> None:
    """Grant a role (as the operator)."""
    with runtime() as rt, transaction(rt.sessions) as session:
        user = service.user_by_name(session, username)
        service.grant_role(session, None, user, role, actor=OPERATOR, now=rt.now(), reason=reason)
    console.print(f"granted {role} to {username}")


@app.command("revoke")
@clean_errors
def revoke(
    username: str = typer.Argument(..., help="The user."),
    role: str = typer.Argument(..., help="The role to revoke."),
    reason: str = typer.Option(
        "revoked by the operator", "--reason", help="Why (recorded in the event log)."
    ),
) -> None:
    """Revoke a role (the last active admin keeps theirs)."""
    with runtime() as rt, transaction(rt.sessions) as session:
        staff.revoke(session, rt, None, username, role, actor=OPERATOR, reason=reason)
    console.print(f"revoked {role} from {username}")


@app.command("token")
@clean_errors
def token(
    username: str = typer.Argument(..., help="The token's holder."),
    name: str = typer.Option(..., "--name", help="What the token is for."),
    scope: list[str] = typer.Option(
        [], "--scope", "-s", help="A permission (repeatable); default: all held."
    ),
    days: int | None = typer.Option(None, "--days", help="Lifetime in days (default: settings.token_days)."),
) -> None:
    """Issue an API token for a user and print it once (only its hash is stored)."""
    with runtime() as rt, transaction(rt.sessions) as session:
        user = service.user_by_name(session, username)
        if user.status != "active":
            raise Conflict(f"{username} is {user.status}; its tokens would not work", {"field": "username"})
        plain, row = service.create_token(
            session,
            user,
            name=name,
            scopes=scope or None,
            days=days if days is not None else rt.settings.token_days,
            actor=OPERATOR,
            now=rt.now(),
        )
        expires = row.expires_at
    console.print(f"token for {username} (expires {expires:%Y-%m-%d}), shown once:")
    console.print(plain, highlight=False, soft_wrap=True)
