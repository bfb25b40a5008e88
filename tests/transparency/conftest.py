"""Fixtures for transparency: a runtime sampling every automated action for QA, clients, a scenario."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_admin
from tests.fixtures import factories as f
from tests.fixtures.clients import Staff, account, post, staff_clients
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.runtime import Runtime, build_runtime

SCAM = "send 1 btc get 2 back"  # scams_fraud: automated removal
THREAT = "I will kill you, just wait"  # harassment_threats: review
BENIGN = "Lovely weather at the lake today."
HANDLE = "alice_private_handle"  # must never appear in any output


@pytest.fixture
def trt(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """Every automated action is sampled for QA; no second reviews (one decision per case)."""
    over = {"automation_qa_rate": 1.0, "second_review_rate": 0.0, "qa_min_samples": 50}
    runtime = build_runtime(settings.model_copy(update=over), clock=clock)
    yield runtime
    runtime.dispose()


@pytest.fixture
def app(trt: Runtime) -> Any:
    """One app for every client of a test."""
    return create_app(runtime=trt, keep_chain=False)


@pytest.fixture
def platform(trt: Runtime, app: Any) -> Iterator[TestClient]:
    """An admin client (every permission) used to ingest."""
    token = seed_admin(trt)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


@pytest.fixture
def staff(trt: Runtime, app: Any) -> Iterator[Staff]:
    """Make a client for a new staff user with these roles."""
    yield from staff_clients(trt, app)


def open_cases(client: TestClient, subject: str) -> list[dict[str, Any]]:
    """The open cases about a post or account, over every queue."""
    found = []
    for q in client.get("/v1/queues").json():
        found += [c for c in client.get(f"/v1/queues/{q['queue']}/cases").json() if c["subject"] == subject]
    return found


def decide(client: TestClient, case_id: int, **body: Any) -> dict[str, Any]:
    """Take and decide a case."""
    rev = client.post(f"/v1/cases/{case_id}/take").json()["revision"]
    resp = client.post(f"/v1/cases/{case_id}/decide", json={"revision": rev, **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


@pytest.fixture
def scenario(platform: TestClient, staff: Staff, clock: Clock) -> dict[str, Any]:
    """Two automated removals (both QA-checked: one confirmed, one not, then reversed on appeal), a threat
    reported by a user and removed by a moderator, a trusted flagger's report rejected. Then 8 days pass."""
    alice = account(platform, handle=HANDLE, display_name="Alice Private")
    bob = account(platform)
    reporter = account(platform, handle="reporter_private_handle")
    p1, p2 = post(platform, alice, SCAM), post(platform, alice, SCAM + " now")
    p3, p4 = post(platform, bob, THREAT), post(platform, bob, BENIGN)
    r1 = f.report(p3, reason="harassment_threats", reporter=reporter)
    assert platform.post("/v1/reports", json=r1).status_code == 201
    r2 = f.report(p4, reason="spam", source="trusted_flagger")
    assert platform.post("/v1/reports", json=r2).status_code == 201
    clock.advance(hours=5)
    mod = staff("mod_private_name", ["moderator"])
    qa1, qa2 = open_cases(mod, p1), open_cases(mod, p2)
    decide(mod, qa1[0]["id"], outcome="violation", policy="scams_fraud", action="remove", reason="scam")
    decide(mod, qa2[0]["id"], outcome="no_violation", reason="a joke")
    threat = open_cases(mod, p3)[0]["id"]
    decide(mod, threat, outcome="violation", policy="harassment_threats", action="remove", reason="credible")
    for c in open_cases(mod, p4):
        decide(mod, c["id"], outcome="no_violation", reason="not spam")
    act = platform.get(f"/v1/posts/{p2}").json()["actions"][0]
    appeal = platform.post("/v1/appeals", json={"kind": "action", "action": act["puid"], "account": alice,
                                                "statement": "it was a joke"}).json()  # fmt: skip
    reviewer = staff("reviewer_private_name", ["appeals_reviewer"])
    clock.advance(hours=3)
    reviewer.post(f"/v1/appeals/{appeal['id']}/take")
    done = reviewer.post(
        f"/v1/appeals/{appeal['id']}/decide", json={"outcome": "overturned", "reason": "satire"}
    )
    assert done.status_code == 200, done.text
    clock.advance(days=8)
    return {"alice": alice, "bob": bob, "reporter": reporter, "posts": [p1, p2, p3, p4]}
