"""Second reviews and disagreements, automation QA with its self-pause, and the kill switch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.content import assert_error
from tests.review.conftest import SCAM, THREAT, case_for, cases_of, new_account, new_post

Staff = Callable[[str, list[str]], TestClient]


@pytest.fixture
def review_overrides() -> dict[str, Any]:
    """Every decision is re-checked and every automated action sampled; one QA sample can pause."""
    return {"second_review_rate": 1.0, "automation_qa_rate": 1.0, "qa_min_samples": 1}


def _decide(client: TestClient, cid: int, **body: Any) -> dict[str, Any]:
    rev = client.post(f"/v1/cases/{cid}/take").json()["revision"]
    resp = client.post(f"/v1/cases/{cid}/decide", json={"revision": rev, **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_a_second_reviewer_who_disagrees_sends_the_case_to_seniors(
    platform: TestClient, staff: Staff
) -> None:
    pid = new_post(platform, new_account(platform), THREAT)
    first, second = staff("first", ["moderator"]), staff("second", ["moderator"])
    cid = case_for(first, pid)["id"]
    out = _decide(first, cid, outcome="no_violation", reason="banter between friends")
    second_id = out["follow_up"]["second_review_case"]
    assert [c["id"] for c in cases_of(first, "quality")] == [second_id]
    assert_error(first.post(f"/v1/cases/{second_id}/take"), 403)  # cannot re-check oneself
    out2 = _decide(
        second, second_id, outcome="violation", policy="harassment_threats", action="label", reason="threat"
    )
    senior_id = out2["follow_up"]["disagreement_case"]
    assert [c["id"] for c in cases_of(first, "senior")] == [senior_id]
    senior = staff("senior", ["senior_moderator"])
    _decide(
        senior,
        senior_id,
        outcome="violation",
        policy="harassment_threats",
        action="remove",
        reason="credible",
    )
    health = senior.get("/v1/review/health").json()
    reviewers = {r["reviewer"]: r for r in health["agreement"]["reviewers"]}
    assert reviewers["first"]["overturned"] == 1
    assert reviewers["second"]["overturned"] == 0
    assert reviewers["first"]["second_reviews_compared"] == 1


def test_a_wrong_automated_action_is_reversed_and_pauses_that_policy(
    platform: TestClient, staff: Staff
) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, SCAM)
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "removed"
    qa = staff("qa", ["moderator"])
    [sample] = [c for c in cases_of(qa, "quality") if c["subject"] == pid]
    assert sample["kind"] == "automation_qa"
    out = _decide(qa, sample["id"], outcome="no_violation", reason="a joke about crypto bros")
    assert out["reversed_action_id"]
    assert out["follow_up"]["automation_paused"] == "scams_fraud"
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "visible"
    precision = qa.get("/v1/review/health").json()["automation_precision"]
    assert precision[0]["policy"] == "scams_fraud"
    assert precision[0]["precision"] == 0.0
    # the next scam post is not removed automatically: it waits for a person
    later = new_post(platform, new_account(platform), SCAM + " today")
    verdict = platform.get(f"/v1/posts/{later}").json()["verdicts"][0]
    assert verdict["outcome"] == "review"
    assert "automation_paused" in verdict["details"]["evaluations"][0]["reasons"]


def test_the_kill_switch_pauses_and_resumes_all_automation(platform: TestClient, staff: Staff) -> None:
    senior, mod = staff("senior", ["senior_moderator"]), staff("mod", ["moderator"])
    assert_error(mod.post("/v1/automation/pauses", json={"scope": "all", "reason": "x"}), 403)
    assert_error(
        senior.post("/v1/automation/pauses", json={"scope": "policy", "policy": "nope", "reason": "x"}), 422
    )
    resp = senior.post("/v1/automation/pauses", json={"scope": "all", "reason": "model incident"})
    assert resp.status_code == 201, resp.text
    assert_error(senior.post("/v1/automation/pauses", json={"scope": "all", "reason": "again"}), 409)
    pid = new_post(platform, new_account(platform), SCAM)
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "visible"
    lifted = senior.post(f"/v1/automation/pauses/{resp.json()['id']}/lift", json={"reason": "fixed"})
    assert lifted.status_code == 200
    pid2 = new_post(platform, new_account(platform), SCAM + " again")
    assert platform.get(f"/v1/posts/{pid2}").json()["status"] == "removed"
    assert senior.get("/v1/automation/pauses").json() == []
