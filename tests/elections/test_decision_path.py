"""Election mode in the decision path: stricter thresholds, the election queue, labels, and the policy lines
for premature claims of victory and voter intimidation (version 3, published by two people)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.elections.conftest import post, publish_v3
from tests.fixtures.two_person import events as event_bodies
from townsquare.runtime import Runtime

LIE = "Good news for busy voters: you can vote by text this year, just text your vote to the campaign."
VOTING_INFO = "Polls close at 8pm on election day. Find your polling place on your county office site."


def _verdict(client: TestClient, pid: str) -> dict[str, Any]:
    verdicts = client.get(f"/v1/posts/{pid}").json()["verdicts"]
    out: dict[str, Any] = next(v for v in verdicts if v["mode"] == "live")
    return out


def _queue_of(client: TestClient, pid: str) -> str | None:
    for q in client.get("/v1/queues").json():
        cases = client.get(f"/v1/queues/{q['queue']}/cases").json()
        if any(c["subject"] == pid for c in cases):
            return str(q["queue"])
    return None


def test_inside_a_window_election_lies_are_judged_stricter_and_go_to_the_election_queue(
    client: TestClient, clock: Clock
) -> None:
    outside = post(client, LIE)["platform_id"]
    assert _queue_of(client, outside) == "misinformation"
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    inside = post(client, LIE, created_at="2026-10-20T11:00:00Z")["platform_id"]
    ev = next(
        e
        for e in _verdict(client, inside)["details"]["evaluations"]
        if e["area"] == "election_misinformation"
    )
    assert "election_period:stricter" in ev["reasons"]
    assert _queue_of(client, inside) == "elections"


def test_posts_about_voting_get_a_label_linking_the_official_source_during_a_window(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    before = post(client, VOTING_INFO)["platform_id"]
    assert client.get(f"/v1/info-labels/{before}").json()["labels"] == []
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    us = post(client, "US voters: " + VOTING_INFO, created_at="2026-10-20T11:00:00Z")["platform_id"]
    labels = client.get(f"/v1/info-labels/{us}").json()["labels"]
    assert labels == [
        {"label": "voting-information", "url": "https://vote.gov/", "jurisdiction": "US", "post_version": 1}
    ]
    recorded = [e for e in event_bodies(rt, "post.info_labelled") if e["subject"]["id"] == us]
    assert recorded[0]["payload"]["election"] == "us-general-2026"
    opinion = post(client, "The debate last night was painful to watch for US voters.")["platform_id"]
    assert client.get(f"/v1/info-labels/{opinion}").json()["labels"] == []
    assert client.get("/v1/info-labels/no-such-post").status_code == 404


def test_premature_claims_of_victory_have_their_own_line_until_the_race_is_called(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    publish_v3(client, rt)
    clock.now = datetime(2026, 11, 4, 9, tzinfo=UTC)  # the morning after polling day, nothing called
    claim = "We won the Senate! It's over, they must concede now."
    early = post(client, claim, created_at="2026-11-04T08:00:00Z")
    assert (early["decision"]["outcome"], early["decision"]["policy"]) == (
        "review",
        "election_misinformation",
    )
    ev = next(
        e
        for e in _verdict(client, early["platform_id"])["details"]["evaluations"]
        if e["area"] == "election_misinformation"
    )
    assert ev["scorer"] == "elections.premature_victory"
    prediction = post(client, "We will win the Senate when every vote is counted, I am sure of it.")
    assert prediction["decision"]["outcome"] == "no_violation"
    call = {"winner": "Party A", "source_url": "https://www.usa.gov/election-results"}
    assert client.post("/v1/elections/us-general-2026/races/senate/call", json=call).status_code == 200
    late = post(client, claim, created_at="2026-11-04T10:00:00Z")
    assert late["decision"]["outcome"] == "no_violation"
    house = post(client, "We won the House, it's over. Concede now.")
    assert house["decision"]["outcome"] == "review"  # the House is still being counted


def test_voter_intimidation_has_its_own_line(client: TestClient, rt: Runtime, clock: Clock) -> None:
    publish_v3(client, rt)
    clock.now = datetime(2026, 10, 30, 12, tzinfo=UTC)
    threat = post(
        client,
        "We'll be watching everyone who shows up at the polls on Tuesday. Don't even think about voting.",
    )
    assert (threat["decision"]["outcome"], threat["decision"]["policy"]) == (
        "review",
        "election_misinformation",
    )
    ev = next(
        e
        for e in _verdict(client, threat["platform_id"])["details"]["evaluations"]
        if e["area"] == "election_misinformation"
    )
    assert ev["scorer"] == "elections.voter_intimidation"
    calm = post(client, "Poll workers will be at the polls from 7am; bring water, lines can be long.")
    assert calm["decision"]["outcome"] == "no_violation"
