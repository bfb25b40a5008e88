"""Helpers for the election tests: an election body, ingesting posts, publishing policy version 3."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, Clock, seed_admin, seed_user
from tests.fixtures import factories
from townsquare.app import create_app
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.runtime import Runtime, build_runtime


def election(**over: Any) -> dict[str, Any]:
    """A valid election body (Brazilian municipal elections, which elections.yaml does not list)."""
    body: dict[str, Any] = {
        "slug": "br-municipal-2028",
        "name": "Brazil municipal elections 2028",
        "jurisdiction": "BR",
        "polling": {"start": "2028-10-01", "end": "2028-10-29"},
        "window": {"before_days": 30, "after_days": 14},
        "sources": {
            "results": "https://resultados.tse.jus.br/",
            "voting_information": "https://www.tse.jus.br/",
        },
        "races": [{"key": "sao-paulo-mayor", "name": "Mayor of São Paulo"}],
        "reason": "announced by the TSE",
    }
    body.update(over)
    return body


def post(client: TestClient, text: str, **over: Any) -> dict[str, Any]:
    """Ingest a post by a fresh author; the response body."""
    author = factories.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    body = factories.post(author["platform_id"], text, **over)
    r = client.post("/v1/posts", json=body)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def publish_v3(client: TestClient, rt: Runtime) -> None:
    """Put election_misinformation version 3 live: the admin requests, a second publisher approves."""
    second = seed_user(rt, "publisher-e", ["policy_publisher"])
    r = client.post(
        "/v1/policies/election_misinformation/versions/3/publish",
        json={"state": "live", "reason": "election mode"},
    )
    assert r.status_code == 202, r.text
    ok = client.post(
        f"/v1/approvals/{r.json()['id']}/approve",
        json={"reason": "ok"},
        headers={"Authorization": f"Bearer {second}"},
    )
    assert ok.status_code == 200, ok.text


@pytest.fixture
def models_client(settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """An admin client on a runtime that scores with the committed models (claim matching included)."""
    monkeypatch.setenv("TOWNSQUARE_MODELS_ENABLED", "true")
    on = settings.model_copy(
        update={
            "models_enabled": True,
            "models_dir": PROJECT_ROOT / "models",
            "claims_dir": PROJECT_ROOT / "claims",
        }
    )
    runtime = build_runtime(on, clock=clock)
    seed_admin(runtime)
    with TestClient(
        create_app(runtime=runtime, keep_chain=False), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        c.rt = runtime  # type: ignore[attr-defined]
        yield c
    runtime.dispose()
