"""Helpers for the election tests: an election body, ingesting posts, publishing policy version 3."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.fixtures import factories
from townsquare.runtime import Runtime


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
