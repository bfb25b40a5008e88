"""Fixtures for the review workbench: a runtime with adjustable QA settings, staff clients, helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_admin, seed_user
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.runtime import Runtime, build_runtime

THREAT = "I will kill you, just wait"  # harassment_threats bank 0.9: review (auto is 0.95)
SCAM = "send 1 btc get 2 back"  # scams_fraud 1.0: automated removal
BENIGN = "Lovely weather at the lake today."


@pytest.fixture
def review_overrides() -> dict[str, Any]:
    """Settings a test module may override (sampling rates, sizes)."""
    return {"second_review_rate": 0.0, "automation_qa_rate": 0.0}


@pytest.fixture
def rrt(settings: Settings, clock: Clock, review_overrides: dict[str, Any]) -> Iterator[Runtime]:
    """A runtime with the review settings under test."""
    runtime = build_runtime(settings.model_copy(update=review_overrides), clock=clock)
    yield runtime
    runtime.dispose()


@pytest.fixture
def staff(rrt: Runtime) -> Callable[[str, list[str]], TestClient]:
    """Make an HTTP client for a new staff user with these roles."""
    app = create_app(runtime=rrt, keep_chain=False)
    clients: list[TestClient] = []

    def make(name: str, roles: list[str]) -> TestClient:
        token = seed_user(rrt, name, roles)
        c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        c.__enter__()
        clients.append(c)
        return c

    yield make  # type: ignore[misc]
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture
def platform(rrt: Runtime) -> Iterator[TestClient]:
    """The platform's ingest client (admin token: every permission)."""
    token = seed_admin(rrt)
    app = create_app(runtime=rrt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def new_account(client: TestClient, **over: Any) -> str:
    """Create an account; its platform id."""
    data = f.account(**over)
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def new_post(client: TestClient, author: str, text: str, **over: Any) -> str:
    """Ingest a post; its platform id."""
    data = f.post(author, text, **over)
    resp = client.post("/v1/posts", json=data)
    assert resp.status_code == 201, resp.text
    return str(data["platform_id"])


def cases_of(client: TestClient, queue: str) -> list[dict[str, Any]]:
    """A queue's open cases."""
    resp = client.get(f"/v1/queues/{queue}/cases")
    assert resp.status_code == 200, resp.text
    return list(resp.json())


def case_for(client: TestClient, subject: str) -> dict[str, Any]:
    """The one open case about a post or account, whatever its queue."""
    found = []
    for q in client.get("/v1/queues").json():
        found += [c for c in cases_of(client, q["queue"]) if c["subject"] == subject]
    assert len(found) == 1, found
    return found[0]
