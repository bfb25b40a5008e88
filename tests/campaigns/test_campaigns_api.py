"""Campaigns through the API: posts ingested by a ring of accounts become one campaign with its accounts,
posts, timeline and evidence, decided in bulk only when a second person approves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.fixtures import factories
from tests.fixtures.two_person import approve, bearer, types
from townsquare.runtime import Runtime

T0 = datetime(2026, 3, 1, 10, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ring(client: TestClient, accounts: int = 5, per_account: int = 3) -> list[str]:
    ids = []
    for _ in range(accounts):
        acct = factories.account(created_at=_iso(T0 - timedelta(days=2)), follower_count=3)
        assert client.post("/v1/accounts", json=acct).status_code == 201
        ids.append(acct["platform_id"])
    posts = []
    for k in range(per_account):
        for a, author in enumerate(ids):
            at = T0 + timedelta(minutes=4 * k, seconds=7 * a)
            text = f"Ballot drop boxes are closed early today, vote tomorrow instead! Details {k}{a}: https://vote-info.example/news"
            posts.append(factories.post(author, text, created_at=_iso(at)))
    r = client.post("/v1/posts/batch", json={"posts": posts})
    assert r.status_code == 200, r.text
    organic = factories.account()
    client.post("/v1/accounts", json=organic)
    client.post("/v1/posts", json=factories.post(organic["platform_id"], "Lovely weather at the lake today."))
    return ids


def _campaign(client: TestClient) -> dict[str, Any]:
    listing = client.get("/v1/campaigns").json()["campaigns"]
    assert len(listing) == 1, listing
    detail: dict[str, Any] = client.get(f"/v1/campaigns/{listing[0]['id']}").json()
    return detail


def test_a_ring_becomes_one_campaign_with_its_evidence(client: TestClient, rt: Runtime) -> None:
    ring = _ring(client)
    c = _campaign(client)
    assert {a["platform_id"] for a in c["accounts"]} == set(ring)
    assert len(c["posts"]) == 15
    assert {"fresh_burst", "link"} <= set(c["kinds"])
    assert c["evidence"]["shared_links"][0] == ["https://vote-info.example/news", 15]
    assert sum(t["posts"] for t in c["timeline"]) == 15
    assert all(p["case_id"] for p in c["posts"])
    assert types(rt, "campaign.detected") == ["campaign.detected"]
    assert client.get("/v1/campaigns/999999").status_code == 404


def test_a_campaign_is_decided_in_bulk_by_two_people(client: TestClient, rt: Runtime) -> None:
    _ring(client)
    c = _campaign(client)
    senior, other = (
        seed_user(rt, "senior-c1", ["senior_moderator"]),
        seed_user(rt, "senior-c2", ["senior_moderator"]),
    )
    moderator = seed_user(rt, "mod-c", ["moderator"])
    body = {"outcome": "violation", "policy": "spam", "action": "remove", "reason": "coordinated link spam"}
    url = f"/v1/campaigns/{c['id']}/decide"
    assert client.post(url, json=body, headers=bearer(moderator)).status_code == 403
    bad = client.post(url, json={**body, "reason": ""}, headers=bearer(senior))
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "reason")
    r = client.post(url, json=body, headers=bearer(senior))
    assert r.status_code == 202, r.text
    assert client.post(url, json=body, headers=bearer(other)).status_code == 409  # already pending
    assert approve(client, senior, r.json()["approval_id"]).status_code == 403
    done = approve(client, other, r.json()["approval_id"])
    assert done.status_code == 200, done.text
    assert done.json()["result"]["decided"] == 15
    after = client.get(f"/v1/campaigns/{c['id']}").json()
    assert after["state"] == "decided"
    assert {p["status"] for p in after["posts"]} == {"removed"}
    assert {p["case_state"] for p in after["posts"]} == {"decided"}
