"""`townsquare users` through the CLI runner: bootstrap, create, list, grant, revoke, token, disable."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select
from typer.testing import Result

from townsquare.access.models import StaffUser
from townsquare.access.service import principal_for_token, verify_password
from townsquare.db import transaction
from townsquare.runtime import Runtime

Cli = Callable[..., Result]


@pytest.fixture
def cli(cli: Cli) -> Cli:
    """The shared CLI runner, inside `townsquare users`."""
    return lambda *args: cli("users", *args)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def _refused(result: Result) -> str:
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result.output


def _secret(output: str) -> str:
    found = re.search(r"shown once[^:]*:\s*(\S+)", output)
    assert found, output
    return found.group(1)


def _user(rt: Runtime, username: str) -> StaffUser:
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return user


def test_bootstrap_prints_a_one_time_password_once(cli: Cli, rt: Runtime) -> None:
    out = _ok(cli("bootstrap", "root"))
    password = _secret(out)
    user = _user(rt, "root")
    assert verify_password(user.password_hash, password)
    assert user.must_change_password
    again = _refused(cli("bootstrap", "root2"))
    assert "admin already exists" in again


def test_create_list_grant_revoke_token_disable(cli: Cli, rt: Runtime) -> None:
    password = _secret(_ok(cli("create", "ada", "--role", "moderator", "--role", "triage")))
    assert verify_password(_user(rt, "ada").password_hash, password)
    _refused(cli("create", "ada"))
    _ok(cli("grant", "ada", "appeals_reviewer", "--reason", "covers appeals this month"))
    _refused(cli("grant", "ada", "no_such_role", "--reason", "x"))
    _ok(cli("revoke", "ada", "triage"))
    listing = _ok(cli("list"))
    row = next(line for line in listing.splitlines() if " ada " in line)
    assert "appeals_reviewer, moderator" in row
    assert "triage" not in row
    assert "never" in row
    token = _secret(_ok(cli("token", "ada", "--name", "script", "--scope", "posts:read", "--days", "7")))
    with transaction(rt.sessions) as session:
        principal = principal_for_token(session, token, rt.now())
        assert principal is not None
        assert principal.permissions == {"posts:read"}
    _refused(cli("token", "ada", "--name", "too wide", "--scope", "users:manage"))
    out = _ok(cli("disable", "ada", "--reason", "left"))
    assert "1 token(s) revoked" in out
    with transaction(rt.sessions) as session:
        assert principal_for_token(session, token, rt.now()) is None
    assert "disabled" in _ok(cli("list"))
    _refused(cli("disable", "ada"))


def test_a_service_account_gets_a_platform_token(cli: Cli, rt: Runtime) -> None:
    token = _secret(_ok(cli("create", "acme-platform", "--service")))
    with transaction(rt.sessions) as session:
        principal = principal_for_token(session, token, rt.now())
        assert principal is not None
        assert principal.roles == {"platform"}
        assert principal.actor == "service:acme-platform"


def test_unknown_users_fail_cleanly(cli: Cli) -> None:
    assert "no user ghost" in _refused(cli("grant", "ghost", "triage", "--reason", "x"))
    _refused(cli("disable", "ghost"))
    _refused(cli("token", "ghost", "--name", "x"))
