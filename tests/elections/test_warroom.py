"""The war room through the API: counts by claim and jurisdiction, emerging claims, and the one-step path
from an emerging claim to the library (two people), after which its posts are scored again."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_user
from tests.elections.conftest import post
from tests.fixtures.two_person import approve, bearer, types
from townsquare.runtime import Runtime

NARRATIVE = [
    "Springfield county: the voting machines switched votes from the school levy to the stadium bond "
    "overnight, 4,000 of them. Check the tapes!",
    "In Springfield county the voting machines switched votes from the school levy to the stadium bond, "
    "4,000 overnight. Check the tapes",
    "Springfield county voting machines switched votes from the school levy to the stadium bond overnight!! "
    "4,000 votes. check the tapes",
]
CLAIM = {
    "text": "Voting machines in Springfield county switched 4,000 votes from the school levy to the "
    "stadium bond overnight.",
    "source": "https://www.example-factcheck.org/springfield-machines",
    "topic": "election_results",
    "reason": "three copies in an hour, no known claim",
}


def _war_room(client: TestClient) -> dict:  # type: ignore[type-arg]
    r = client.get("/v1/warroom")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_emerging_claims_are_added_by_one_fact_checker_and_published_by_another(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    for text in NARRATIVE:
        post(client, "US voters: " + text, created_at="2026-10-20T11:00:00Z")
    room = _war_room(client)
    assert room["mode"]["on"] is True
    assert room["queue"]["open"] is True
    assert room["queue"]["cases_open"] == 3
    assert room["queue"]["sla_minutes"] == 60
    cluster = room["emerging"][0]
    assert cluster["size"] == 3
    assert cluster["jurisdictions"] == ["US"]
    assert {"claim": "unmatched"}.items() <= room["by_claim"][0].items()
    checker, other = (
        seed_user(rt, "checker-1", ["fact_checker"]),
        seed_user(rt, "checker-2", ["fact_checker"]),
    )
    no_source = client.post("/v1/claims", json={**CLAIM, "source": ""}, headers=bearer(checker))
    assert (no_source.status_code, no_source.json()["detail"][0]["field"]) == (422, "source")
    assert client.get("/v1/claims").json() == {"library_version": 0, "claims": []}
    body = {**CLAIM, "cluster": cluster["key"], "post_ids": cluster["post_ids"]}
    r = client.post("/v1/claims", json=body, headers=bearer(checker))
    assert r.status_code == 202, r.text
    approval = r.json()["approval_id"]
    assert client.post("/v1/claims", json=body, headers=bearer(other)).status_code == 409  # same claim
    assert approve(client, checker, approval).status_code == 403  # not their own
    assert approve(client, other, approval).status_code == 200
    claims = client.get("/v1/claims").json()
    assert claims["library_version"] == 1
    assert claims["claims"][0]["state"] == "live"
    assert types(rt, "claims.") == ["claims.proposed", "claims.published"]


def test_after_publishing_the_clusters_posts_are_scored_again_and_counted_by_claim(
    models_client: TestClient, clock: Clock
) -> None:
    rt: Runtime = models_client.rt  # type: ignore[attr-defined]
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    known = post(
        models_client, "Dominion voting machines switched hundreds of thousands of Trump votes to Biden."
    )
    assert known["decision"]["outcome"] == "review"
    for text in NARRATIVE:
        post(models_client, "US voters: " + text, created_at="2026-10-20T11:00:00Z")
    room = _war_room(models_client)
    assert room["by_claim"][0]["claim"] in ("unmatched", "er-dominion-switched-votes-to-biden")
    cluster = room["emerging"][0]
    checker, other = (
        seed_user(rt, "checker-1", ["fact_checker"]),
        seed_user(rt, "checker-2", ["fact_checker"]),
    )
    r = models_client.post(
        "/v1/claims",
        json={**CLAIM, "cluster": cluster["key"], "post_ids": cluster["post_ids"]},
        headers=bearer(checker),
    )
    result = approve(models_client, other, r.json()["approval_id"]).json()
    assert result["result"]["rescored"] >= 3
    room = _war_room(models_client)
    counts = {c["claim"]: c["posts"] for c in room["by_claim"]}
    new_id = models_client.get("/v1/claims").json()["claims"][0]["id"]
    assert counts[new_id] == 3
    assert counts["er-dominion-switched-votes-to-biden"] == 1
    assert room["emerging"] == []
    assert room["fastest"]
