"""Elections as data through the API: validation, nothing stored on a refusal, race calls, the mode."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import Clock, seed_user
from tests.elections.conftest import election
from tests.fixtures.two_person import bearer, types
from townsquare.db import transaction
from townsquare.elections.models import Election
from townsquare.eventlog.events import Event
from townsquare.runtime import Runtime


def _counts(rt: Runtime) -> tuple[int, int]:
    with transaction(rt.sessions) as session:
        return (
            int(session.scalar(select(func.count()).select_from(Election)) or 0),
            int(session.scalar(select(func.count()).select_from(Event)) or 0),
        )


def test_the_files_elections_are_recorded_at_startup(client: TestClient) -> None:
    r = client.get("/v1/elections")
    assert r.status_code == 200
    body = r.json()
    slugs = [e["slug"] for e in body["elections"]]
    assert "us-general-2026" in slugs
    assert "gb-sct-2026" in slugs
    us = next(e for e in body["elections"] if e["slug"] == "us-general-2026")
    assert (us["window_start"], us["window_end"]) == ("2026-10-06", "2026-11-17")
    assert us["sources"]["voting_information"] == "https://vote.gov/"
    assert body["mode"] == {"on": False, "active": []}  # 2 March 2026


def test_an_election_is_added_and_is_an_event(client: TestClient, rt: Runtime) -> None:
    r = client.post("/v1/elections", json=election())
    assert r.status_code == 201, r.text
    assert r.json()["window_start"] == "2028-09-01"
    assert types(rt, "election.created")[-1] == "election.created"
    assert client.get("/v1/elections/br-municipal-2028").json()["races"][0]["called"] is False


def test_bad_elections_get_a_4xx_naming_the_field_and_store_nothing(client: TestClient, rt: Runtime) -> None:
    before = _counts(rt)
    cases = [
        (election(jurisdiction="XX"), 422, "jurisdiction"),
        (election(jurisdiction="US-ZZ"), 422, "jurisdiction"),
        (election(polling={"start": "2028-10-29", "end": "2028-10-01"}), 422, "polling"),
        (election(window={"before_days": -3, "after_days": 14}), 422, "window"),
        (election(polling={"start": "0001-01-01", "end": "0001-01-02"}), 422, "polling"),
        (election(window={"before_days": 400, "after_days": 14}), 422, "window"),
        (
            election(
                sources={"results": "http://tse.jus.br", "voting_information": "https://www.tse.jus.br/"}
            ),
            422,
            "sources",
        ),
        (election(slug="Bad Slug!"), 422, "slug"),
        # Overlaps the stored Brazil general election's window (16 Aug - 8 Nov 2026) in BR.
        (election(slug="br-extra-2026", polling={"start": "2026-11-01", "end": "2026-11-01"}), 409, "window"),
        (election(slug="us-general-2026"), 409, "slug"),
    ]
    for body, status, field in cases:
        r = client.post("/v1/elections", json=body)
        assert r.status_code == status, (body, r.text)
        detail = r.json()["detail"]
        named = detail[0]["field"] if isinstance(detail, list) else detail["field"]
        assert named.startswith(field), (field, r.json())
    assert _counts(rt) == before


def test_an_update_that_would_overlap_is_refused_and_changes_nothing(client: TestClient, rt: Runtime) -> None:
    assert client.post("/v1/elections", json=election()).status_code == 201
    before = client.get("/v1/elections/br-municipal-2028").json()
    counts = _counts(rt)
    r = client.patch(
        "/v1/elections/br-municipal-2028",
        json={"polling": {"start": "2026-10-20", "end": "2026-10-20"}, "reason": "moved"},
    )
    assert (r.status_code, r.json()["detail"]["field"]) == (409, "window")
    assert client.get("/v1/elections/br-municipal-2028").json() == before
    assert _counts(rt) == counts
    ok = client.patch("/v1/elections/br-municipal-2028", json={"sla_minutes": 30, "reason": "more staff"})
    assert (ok.status_code, ok.json()["sla_minutes"], ok.json()["revision"]) == (200, 30, 2)
    assert client.patch("/v1/elections/nope", json={"reason": "x"}).status_code == 404


def test_race_calls_are_recorded_once(client: TestClient) -> None:
    url = "/v1/elections/us-general-2026/races/senate/call"
    body = {"winner": "Party A", "source_url": "https://www.usa.gov/election-results"}
    r = client.post(url, json=body)
    assert (r.status_code, r.json()["called"], r.json()["winner"]) == (200, True, "Party A")
    assert client.post(url, json=body).status_code == 409
    assert client.post("/v1/elections/us-general-2026/races/governor/call", json=body).status_code == 404
    bad = client.post("/v1/elections/us-general-2026/races/house/call", json={"winner": "Party A"})
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "source_url")


def test_switching_into_and_out_of_election_mode_is_an_event(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    assert client.get("/v1/election-mode").json()["on"] is False
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    mode = client.get("/v1/election-mode").json()
    assert mode["on"] is True
    assert mode["active"] == ["br-general-2026", "us-general-2026"]
    assert client.get("/v1/election-mode").json()["switches"][0]["direction"] == "entered"
    clock.now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    mode = client.get("/v1/election-mode").json()
    assert mode["on"] is False
    entered = types(rt, "election.mode_entered")
    exited = types(rt, "election.mode_exited")
    assert (len(entered), len(exited)) == (2, 2)  # Brazil and the US, each once


def test_roles_without_the_permission_are_refused(client: TestClient, rt: Runtime) -> None:
    triage = seed_user(rt, "triage-e", ["triage"])
    platform = seed_user(rt, "platform-e", ["platform"])
    assert client.get("/v1/elections", headers=bearer(triage)).status_code == 200
    assert client.post("/v1/elections", json=election(), headers=bearer(triage)).status_code == 403
    assert client.get("/v1/warroom", headers=bearer(platform)).status_code == 403
    officer = seed_user(rt, "officer-e", ["election_integrity"])
    assert client.post("/v1/elections", json=election(), headers=bearer(officer)).status_code == 201
