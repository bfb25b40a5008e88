"""Cached bearer tokens: served from memory, yet a change made by any process applies to the next request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select, text, update

from tests.conftest import Clock, seed_user
from tests.fixtures.two_person import account, bearer
from townsquare.access.models import ApiToken, Freeze
from townsquare.access.service import digest
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]


def _other_process(settings: Settings, clock: Clock, action: str, username: str, role: str = "") -> None:
    """Change `username`'s access from a separate process (its own engine and connections)."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
            "TOWNSQUARE_DATABASE_URL": settings.database_url,
            "TOWNSQUARE_SIGNING_KEY_PATH": str(settings.signing_key_path),
            "TOWNSQUARE_CHECKPOINT_LOG_PATH": str(settings.checkpoint_log_path),
            "TOWNSQUARE_LINK_KEY_PATH": str(settings.link_key_path),
            "TOWNSQUARE_WEBHOOK_SECRET_PATH": str(settings.webhook_secret_path),
            "TOWNSQUARE_DATA_DIR": str(settings.data_dir),
            "TOWNSQUARE_MODELS_ENABLED": "false",
        }
    )
    args = [action, username, clock.now.isoformat(), *([role] if role else [])]
    done = subprocess.run(
        [sys.executable, "-m", "tests.fixtures.access_change", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def mod(rt: Runtime) -> str:
    """A moderator's token."""
    return seed_user(rt, "mod", ["moderator"])


@pytest.fixture
def token_queries(rt: Runtime) -> Iterator[list[str]]:
    """Every statement that reads the api_tokens table, as it is sent."""
    seen: list[str] = []

    def listen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "api_tokens" in statement:
            seen.append(statement)

    event.listen(rt.engine, "before_cursor_execute", listen)
    yield seen
    event.remove(rt.engine, "before_cursor_execute", listen)


def _read(client: TestClient, token: str, author: str) -> int:
    return client.get(f"/v1/accounts/{author}", headers=bearer(token)).status_code


def _write(client: TestClient, token: str, author: str) -> int:
    data = {"action": "suspend", "policy": "spam", "account": author, "reason": "x", "duration_days": 1}
    r = client.post("/v1/actions", json=data, headers=bearer(token))
    if r.status_code == 201:  # undo, so the next write can suspend again
        client.post(f"/v1/actions/{r.json()['id']}/reverse", json={"reason": "test"})
    return r.status_code


def test_a_repeated_token_is_served_from_the_cache(
    client: TestClient, rt: Runtime, mod: str, token_queries: list[str]
) -> None:
    author = account(client)
    assert _read(client, mod, author) == 200
    token_queries.clear()
    for _ in range(3):
        assert _read(client, mod, author) == 200
    assert token_queries == []


@pytest.mark.parametrize(
    ("action", "role", "status"),
    [("revoke-tokens", "", 401), ("disable", "", 401), ("revoke-role", "moderator", 403)],
)
def test_a_change_in_another_process_applies_to_the_very_next_request(
    client: TestClient,
    rt: Runtime,
    settings: Settings,
    clock: Clock,
    mod: str,
    action: str,
    role: str,
    status: int,
) -> None:
    author = account(client)
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200  # cached now
    _other_process(settings, clock, action, "mod", role)
    assert _read(client, mod, author) == status


def test_a_freeze_in_another_process_applies_to_the_very_next_request(
    client: TestClient, rt: Runtime, settings: Settings, clock: Clock, mod: str
) -> None:
    author = account(client)
    assert _write(client, mod, author) == 201
    assert _write(client, mod, author) == 201  # cached now
    _other_process(settings, clock, "freeze", "mod")
    assert _write(client, mod, author) == 403
    assert _read(client, mod, author) == 200  # a read-only freeze still lets them read


def test_a_role_granted_back_in_another_process_applies_to_the_very_next_request(
    client: TestClient, rt: Runtime, settings: Settings, clock: Clock, mod: str
) -> None:
    author = account(client)
    _other_process(settings, clock, "revoke-role", "mod", "moderator")
    assert _read(client, mod, author) == 403
    assert _read(client, mod, author) == 403  # cached now, without the role
    _other_process(settings, clock, "grant-role", "mod", "moderator")
    assert _read(client, mod, author) == 200


def test_a_cached_token_stops_working_when_it_expires(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    author = account(client)
    with transaction(rt.sessions) as session:
        session.execute(update(ApiToken).values(expires_at=clock.now + timedelta(hours=1)))
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200  # cached now, until the expiry
    clock.advance(hours=1)
    assert _read(client, mod, author) == 401


def test_a_scheduled_freeze_applies_when_it_starts_although_the_token_is_cached(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    author = account(client)
    with transaction(rt.sessions) as session:
        session.add(
            Freeze(
                scope="user",
                target="mod",
                read_only=True,
                reason="from tonight",
                requested_by="test",
                starts_at=clock.now + timedelta(minutes=30),
            )
        )
    assert _write(client, mod, author) == 201
    assert _write(client, mod, author) == 201  # cached now, until the freeze starts
    clock.advance(minutes=30)
    assert _write(client, mod, author) == 403


def test_a_change_made_with_plain_sql_applies_to_the_next_request(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    author = account(client)
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200
    with rt.engine.begin() as conn:  # no service code: the database's triggers bump the stamp
        conn.execute(text("UPDATE staff_users SET status = 'disabled' WHERE username = 'mod'"))
    assert _read(client, mod, author) == 401


def test_a_stamp_bump_that_rolled_back_is_not_mistaken_for_the_next_change(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    author = account(client)
    with rt.engine.connect() as conn:  # a change that bumps the stamp, seen by a read, then rolled back
        conn.execute(text("UPDATE staff_users SET kind = kind WHERE username = 'mod'"))
        conn.rollback()
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200
    with rt.engine.begin() as conn:  # the next committed change reaches the same counter value
        conn.execute(text("UPDATE staff_users SET status = 'disabled' WHERE username = 'mod'"))
    assert _read(client, mod, author) == 401


def test_a_cached_token_revoked_over_the_api_is_refused_on_the_next_request(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    author = account(client)
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200  # cached now: served on a plain connection
    mine = client.get("/v1/auth/tokens", headers=bearer(mod)).json()
    assert client.delete(f"/v1/auth/tokens/{mine[0]['id']}", headers=bearer(mod)).status_code == 200
    assert _read(client, mod, author) == 401


def test_a_cached_token_still_records_its_use_once_a_minute(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    author = account(client)
    assert _read(client, mod, author) == 200
    assert _read(client, mod, author) == 200  # cached now

    def last_used() -> object:
        with transaction(rt.sessions) as session:
            return session.scalar(select(ApiToken.last_used_at).where(ApiToken.token_hash == digest(mod)))

    seen = last_used()
    clock.advance(seconds=30)
    assert _read(client, mod, author) == 200
    assert last_used() == seen  # within the minute: no write
    clock.advance(minutes=2)
    assert _read(client, mod, author) == 200
    assert last_used() == clock.now
