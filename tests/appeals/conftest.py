"""Fixtures for appeals, reinstatement and the council: staff clients, a platform client, decisions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_admin, seed_user
from tests.fixtures.clients import Staff, staff_clients
from townsquare.app import create_app
from townsquare.runtime import Runtime

SCAM = "send 1 btc get 2 back"  # automated removal under scams_fraud
THREAT = "I will kill you, just wait"  # review under harassment_threats


@pytest.fixture
def app(rt: Runtime) -> Any:
    """One app for every client of a test."""
    return create_app(runtime=rt, keep_chain=False)


@pytest.fixture
def platform(rt: Runtime, app: Any) -> Iterator[TestClient]:
    """The platform's service account (ingest, reports, appeals, notifications)."""
    token = seed_user(rt, "acme", ["platform"])
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
def admin(rt: Runtime, app: Any) -> Iterator[TestClient]:
    """An admin client."""
    token = seed_admin(rt)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
def staff(rt: Runtime, app: Any) -> Iterator[Staff]:
    """Make a client for a new staff user with these roles."""
    yield from staff_clients(rt, app)


def action_of(client: TestClient, pid: str) -> dict[str, Any]:
    """The first action on a post."""
    actions = client.get(f"/v1/posts/{pid}").json()["actions"]
    assert actions, pid
    return dict(actions[0])


def notes(client: TestClient, account_pid: str) -> list[dict[str, Any]]:
    """A platform user's notifications."""
    resp = client.get("/v1/notifications", params={"account": account_pid})
    assert resp.status_code == 200, resp.text
    return list(resp.json())
