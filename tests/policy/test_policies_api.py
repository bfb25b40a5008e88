"""Listing and publishing policy versions through the HTTP API (a request, then a second approval)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import seed_user
from tests.fixtures import factories
from townsquare.db import transaction
from townsquare.eventlog.events import Event, body_of
from townsquare.runtime import Runtime

BORDERLINE_HATE = "They are subhuman."  # 0.5: no violation under hate_speech v1, review under v2


@pytest.fixture
def second(rt: Runtime) -> str:
    """A second publisher's token (the admin requests, they approve)."""
    return seed_user(rt, "publisher2", ["policy_publisher"])


def _publish(
    client: TestClient, second: str, area: str, version: int, state: str = "live", reason: str = "x"
) -> Any:
    """Request as the admin and approve as the second publisher; a refused request is returned as is."""
    r = client.post(
        f"/v1/policies/{area}/versions/{version}/publish", json={"state": state, "reason": reason}
    )
    if r.status_code != 202:
        return r
    return client.post(
        f"/v1/approvals/{r.json()['id']}/approve",
        json={"reason": "reviewed"},
        headers={"Authorization": f"Bearer {second}"},
    )


def _states(client: TestClient) -> dict[tuple[str, int], str]:
    r = client.get("/v1/policies")
    assert r.status_code == 200, r.text
    return {(v["area"], v["version"]): v["state"] for v in r.json()}


def _decide(client: TestClient, text: str) -> dict[str, Any]:
    author = factories.account()
    client.post("/v1/accounts", json=author)
    r = client.post("/v1/posts", json=factories.post(author["platform_id"], text))
    assert r.status_code == 201, r.text
    decision: dict[str, Any] = r.json()["decision"]
    return decision


def test_list_shows_every_version_with_its_state(client: TestClient, rt: Runtime) -> None:
    states = _states(client)
    expected = {(a, s.version) for a in rt.policies.areas() for s in rt.policies.versions(a)}
    assert set(states) == expected
    assert states[("hate_speech", 1)] == "retired"
    assert states[("hate_speech", 2)] == "shadow"
    assert states[("hate_speech", 3)] == "retired"
    assert states[("hate_speech", 4)] == "live"
    assert states[("election_misinformation", 2)] == "draft"
    first = client.get("/v1/policies").json()[0]
    assert len(first["content_hash"]) == 64
    with transaction(rt.sessions) as session:
        recorded = session.scalars(select(Event).where(Event.type == "policy.version_recorded")).all()
    assert len(recorded) == len(expected)


def test_one_version_in_full(client: TestClient) -> None:
    r = client.get("/v1/policies/scams_fraud/versions/1")
    assert r.status_code == 200
    body = r.json()
    assert (body["area"], body["title"], body["version"]) == ("scams_fraud", "Scams and fraud", 1)
    assert body["ladder"][0] == {"min_strikes": 0, "action": "remove", "duration_days": None}
    missing = client.get("/v1/policies/scams_fraud/versions/9")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_publishing_v2_live_retires_v1_and_decides_new_posts(
    client: TestClient, rt: Runtime, second: str
) -> None:
    assert _decide(client, BORDERLINE_HATE)["outcome"] == "no_violation"

    r = _publish(client, second, "hate_speech", 2, reason="shadow results reviewed")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    assert {v["version"]: v["state"] for v in r.json()["result"]["versions"]} == {
        1: "retired",
        2: "live",
        3: "retired",
        4: "retired",
    }
    assert _states(client)[("hate_speech", 4)] == "retired"

    with transaction(rt.sessions) as session:
        rows = session.scalars(select(Event).where(Event.type == "policy.published")).all()
        published = [body_of(e) for e in rows]
    assert len(published) == 1
    event = published[0]
    assert (event["subject"]["id"], event["reason"]) == ("hate_speech@2", "shadow results reviewed")
    assert (event["payload"]["from"], event["payload"]["to"]) == ("shadow", "live")
    assert event["actor"] == "user:test-admin"
    assert event["payload"]["approved_by"] == "user:publisher2"

    decision = _decide(client, BORDERLINE_HATE)
    assert (decision["outcome"], decision["policy"], decision["policy_version"]) == (
        "review",
        "hate_speech",
        2,
    )


def test_a_retired_version_cannot_come_back(client: TestClient, second: str) -> None:
    assert _publish(client, second, "hate_speech", 2).status_code == 200
    r = _publish(client, second, "hate_speech", 1)
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    assert _states(client)[("hate_speech", 2)] == "live"


def test_publishing_an_unknown_version_or_area_is_404(client: TestClient, second: str) -> None:
    for area, version in (("hate_speech", 9), ("not_an_area", 1)):
        r = _publish(client, second, area, version)
        assert (r.status_code, r.json()["error"]) == (404, "not_found")


def test_publish_needs_a_known_state_and_a_reason(client: TestClient, second: str) -> None:
    bad_state = _publish(client, second, "hate_speech", 2, state="promoted")
    assert bad_state.status_code == 422
    assert bad_state.json()["detail"][0]["field"] == "state"
    no_reason = _publish(client, second, "hate_speech", 2, reason="")
    assert (no_reason.status_code, no_reason.json()["detail"][0]["field"]) == (422, "reason")
    assert _states(client)[("hate_speech", 2)] == "shadow"


def test_a_draft_published_to_shadow_starts_shadowing(client: TestClient, second: str) -> None:
    assert _publish(client, second, "election_misinformation", 2, state="shadow").status_code == 200
    author = factories.account()
    client.post("/v1/accounts", json=author)
    body = factories.post(author["platform_id"], "Good news: you can vote by text this year.")
    client.post("/v1/posts", json=body)
    verdicts = client.get(f"/v1/posts/{body['platform_id']}").json()["verdicts"]
    assert {(v["mode"], v["policy_version"]) for v in verdicts} == {("live", 1), ("shadow", 2)}
    assert _states(client)[("election_misinformation", 1)] == "live"
