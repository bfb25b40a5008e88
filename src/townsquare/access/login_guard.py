"""The login flow's guard, shared by the API and the login page: admit, attempt, settle, record.

`admit` applies the per-address limit and the per-username slowdown before any password is checked;
`settle` counts the outcome and writes the `login.failures` events of the windows that have closed, in
the login's own transaction. `flush` writes every open window (at shutdown).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy.orm import Session

from townsquare.access.login import ANONYMOUS, LoginResult, attempt_login
from townsquare.access.ratelimit import LoginGuard, client_ip, guard, normalise
from townsquare.access.service import digest
from townsquare.db import transaction
from townsquare.errors import TooManyRequests
from townsquare.eventlog import events

if TYPE_CHECKING:
    from fastapi import FastAPI

    from townsquare.runtime import Runtime


def admit(request: Request, username: str) -> str:
    """Let a login attempt through the limits (429 otherwise); returns the client's address."""
    g = guard(request.app)
    client = client_ip(request)
    name = normalise(username)
    try:
        g.per_address.hit(client, "too many logins from this address")
        g.usernames.check(name)
    except TooManyRequests:
        g.failures.add(client, digest(name), None, throttled=True)
        raise
    return client


def log_in(request: Request, rt: Runtime, username: str, password: str, totp: str | None) -> LoginResult:
    """Admit, check the credentials, and settle the outcome in one transaction."""
    client = admit(request, username)
    with transaction(rt.sessions) as session:
        result = attempt_login(session, rt, username, password, totp, client)
        settle(session, rt, guard(request.app), client, username, result)
    return result


def settle(
    session: Session, rt: Runtime, g: LoginGuard, client: str, username: str, result: LoginResult
) -> None:
    """Count a failure (or forget the username's failures) and record the windows that have closed."""
    name = normalise(username)
    if result.error is None:
        g.usernames.succeeded(name)
    elif result.failed:
        g.usernames.failed(name)
        target = result.user.username if result.user is not None else None
        g.failures.add(client, digest(name), target)
    record_closed(session, rt, g)


def record_closed(session: Session, rt: Runtime, g: LoginGuard, *, everything: bool = False) -> int:
    """One `login.failures` event per closed window (the address, counts, the existing names tried)."""
    windows = g.failures.due(everything=everything)
    for client, w in windows:
        # Typed names that match no user are not recorded: people type passwords into that field.
        events.record(
            session,
            "login.failures",
            actor=ANONYMOUS,
            subject_type="client",
            subject_id=client,
            at=rt.now(),
            payload={
                "client": client,
                "failures": w.failures,
                "throttled": w.throttled,
                "usernames_tried": len(w.names),
                "users": sorted(w.targets),
                "window_start": events.iso(datetime.fromtimestamp(w.start, UTC)),
                "window_s": g.failures.window_s,
            },
        )
    return len(windows)


def flush(app: FastAPI) -> int:
    """Record every open window now (the service is stopping); returns how many events were written."""
    g: LoginGuard | None = getattr(app.state, "login_guard", None)
    if g is None:
        return 0
    rt: Runtime = app.state.runtime
    with transaction(rt.sessions) as session:
        return record_closed(session, rt, g, everything=True)
