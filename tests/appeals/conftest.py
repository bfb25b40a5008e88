"""Fixtures for appeals, reinstatement and the council: staff clients, a platform client, decisions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_admin, seed_user
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.runtime import Runtime

SCAM = "send 1 btc get 2 back"  # automated removal under scams_fraud
THREAT = "I will kill you, just wait"  # review under harassment_threats
Staff = Callable[[str, list[str]], TestClient]


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
    opened: list[TestClient] = []

    def make(name: str, roles: list[str]) -> TestClient:
        c = TestClient(app, headers={"Authorization": f"Bearer {seed_user(rt, name, roles)}"})
        c.__enter__()
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.__exit__(None, None, None)


def account(client: TestClient, **over: Any) -> str:
    """Create an account; its platform id."""
    data = f.account(**over)
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def post(client: TestClient, author: str, text: str) -> str:
    """Ingest a post; its platform id."""
    body = f.post(author, text)
    assert client.post("/v1/posts", json=body).status_code == 201
    return str(body["platform_id"])


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
