"""`make demo`'s loader: demo data flows through ingest, decisions and enforcement into a verifiable log."""

from __future__ import annotations

from sqlalchemy import func, select

from townsquare import chain
from townsquare.cli.serve import admin_token, load_demo
from townsquare.config import Settings
from townsquare.content.models import Account, Post, Report, ViewSnapshot
from townsquare.db import transaction
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


def test_admin_token_is_generated_once_and_reused(settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    unset = settings.model_copy(update={"admin_token": None})
    path = tmp_path / "token"
    first = admin_token(unset, path)
    assert len(first) >= 32
    assert admin_token(unset, path) == first
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert admin_token(settings, path) == settings.admin_token
