"""A senior opening a "reviewers disagree" case sees both verdicts side by side, with reasons."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.review.conftest import THREAT, new_account, new_post


@pytest.fixture
def review_overrides() -> dict[str, Any]:
    """Every human decision gets a second review."""
    return {"second_review_rate": 1.0, "automation_qa_rate": 0.0}


def _decide(client: TestClient, cid: int, **body: Any) -> dict[str, Any]:
    rev = client.post(f"/v1/cases/{cid}/take").json()["revision"]
    resp = client.post(f"/v1/cases/{cid}/decide", json={"revision": rev, **body})
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_the_disagreement_case_shows_both_verdicts(platform: TestClient, staff: Any) -> None:
    pid = new_post(platform, new_account(platform), THREAT)
    first, second = staff("first", ["moderator"]), staff("second", ["moderator"])
    cid = next(c["id"] for c in first.get("/v1/queues/threats/cases").json() if c["subject"] == pid)
    out = _decide(first, cid, outcome="no_violation", reason="banter between friends")
    out2 = _decide(
        second,
        out["follow_up"]["second_review_case"],
        outcome="violation",
        policy="harassment_threats",
        action="label",
        reason="reads as a real threat",
    )
    senior = staff("senior", ["senior_moderator"])
    page = senior.get(f"/review/cases/{out2['follow_up']['disagreement_case']}").text
    assert "the first and the second reviewer disagree" in page
    first_box = page.split('data-testid="verdict-1"')[1].split("</div>")[0]
    second_box = page.split('data-testid="verdict-2"')[1].split("</div>")[0]
    assert "no_violation" in first_box
    assert "banter between friends" in first_box
    assert "by first" in first_box
    assert re.search(r"violation</strong>: label under harassment_threats", second_box)
    assert "reads as a real threat" in second_box
    assert "by second" in second_box
    history = page.split('id="timeline-list"')[1]
    assert history.count("decided (") == 2


def test_take_next_over_the_api_lists_what_it_skipped(platform: TestClient, staff: Any) -> None:
    protected = new_account(platform, protected=True)
    new_post(platform, protected, THREAT)
    moderator = staff("maria", ["moderator"])
    out = moderator.post("/v1/queues/high_reach/next").json()
    assert out["case"] is None
    assert len(out["skipped"]) == 1
    assert "action:protected" in out["skipped"][0]["why"]
