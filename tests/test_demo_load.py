"""`make demo`'s loader: demo data flows through ingest, decisions and enforcement into a verifiable log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from townsquare.access.models import StaffUser
from townsquare.access.roles import STAFF_ROLES
from townsquare.access.service import principal_for_token, verify_password
from townsquare.cli.serve import demo_credentials, load_demo
from townsquare.content.models import Account, Post, Report, ViewSnapshot
from townsquare.db import transaction
from townsquare.eventlog import chain
from townsquare.policy.models import Verdict
from townsquare.runtime import Runtime


def _count(rt: Runtime, model: type) -> int:
    with transaction(rt.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_builtin_fallback_loads_and_the_log_verifies(rt: Runtime) -> None:
    load_demo(rt, posts=150)
    assert _count(rt, Post) == 150
    assert _count(rt, Account) > 10
    assert _count(rt, ViewSnapshot) > 150
    assert _count(rt, Report) > 0
    assert _count(rt, Verdict) >= 150
    result = chain.verify(rt)
    assert result.ok, result.problems
    assert result.checkpoints >= 1


def test_second_run_does_not_load_twice(rt: Runtime) -> None:
    load_demo(rt, posts=60)
    load_demo(rt, posts=60)
    assert _count(rt, Post) == 60


def test_demo_credentials_give_one_working_login_per_role_and_a_platform_token(
    rt: Runtime, tmp_path: Path
) -> None:
    logins_file = tmp_path / "logins.txt"
    logins, token = demo_credentials(rt, logins_file)
    assert {d.role for d in logins} == set(STAFF_ROLES)
    assert oct(logins_file.stat().st_mode & 0o777) == "0o600"
    with transaction(rt.sessions) as session:
        principal = principal_for_token(session, token, rt.now())
        assert principal is not None
        assert principal.roles == {"platform"}
        for d in logins:
            user = session.scalar(select(StaffUser).where(StaffUser.username == d.username))
            assert user is not None
            assert verify_password(user.password_hash, d.password)
    again, _ = demo_credentials(rt, logins_file)  # a second start resets passwords, creates no duplicates
    assert [d.username for d in again] == [d.username for d in logins]
