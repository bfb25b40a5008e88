"""User reports over HTTP: taxonomy reasons, subjects, counts, and reports tipping a post to review."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.content import BENIGN, SPAM_LOW, assert_error
from tests.fixtures import factories as f

# policies/spam.yaml v1: review_threshold 0.6, reports {min_reports: 5, score_floor: 0.3};
# textbanks/spam.yaml: "click here" weighs 0.4, between the floor and the review threshold.
SPAM_MIN_REPORTS = 5


@pytest.fixture
def author(client: TestClient) -> str:
    """An account that posts."""
    data = f.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _post(client: TestClient, author: str, text: str = BENIGN) -> str:
    data = f.post(author, text)
    assert client.post("/v1/posts", json=data).status_code == 201
    return str(data["platform_id"])


def test_report_a_post_returns_201(client: TestClient, author: str) -> None:
    pid = _post(client, author)
    data = f.report(pid, "harassment_threats", reporter=author)

    resp = client.post("/v1/reports", json=data)

    assert resp.status_code == 201
    body = resp.json()
    assert body["subject"] == pid
    assert body["reason"] == "harassment_threats"
    assert isinstance(body["report_id"], int)
    assert body["decision"]["outcome"] == "no_violation"


def test_report_an_account_returns_201(client: TestClient, author: str) -> None:
    resp = client.post("/v1/reports", json=f.report(author, "impersonation", subject_type="account"))

    assert resp.status_code == 201
    assert "decision" not in resp.json()


def test_unknown_reason_is_422(client: TestClient, author: str) -> None:
    pid = _post(client, author)

    assert_error(client.post("/v1/reports", json=f.report(pid, "rude")), 422, "reason")


def test_unknown_subject_is_404(client: TestClient) -> None:
    assert_error(client.post("/v1/reports", json=f.report("nothing-here")), 404, "post")
    assert_error(
        client.post("/v1/reports", json=f.report("nobody-here", subject_type="account")), 404, "account"
    )


def test_unknown_reporter_is_422(client: TestClient, author: str) -> None:
    pid = _post(client, author)

    assert_error(client.post("/v1/reports", json=f.report(pid, reporter="nobody-here")), 422, "reporter")


def test_reports_raise_the_report_count(client: TestClient, author: str) -> None:
    pid = _post(client, author)

    for reason in ("spam", "spam", "other"):
        assert client.post("/v1/reports", json=f.report(pid, reason)).status_code == 201

    got = client.get(f"/v1/posts/{pid}").json()
    assert got["report_count"] == 3
    assert got["report_reasons"] == ["other", "spam"]


def test_enough_reports_send_a_low_scoring_post_to_review(client: TestClient, author: str) -> None:
    pid = _post(client, author, SPAM_LOW)
    first = client.get(f"/v1/posts/{pid}").json()
    assert first["verdicts"][-1]["outcome"] == "no_violation"
    assert [(s["policy"], s["score"]) for s in first["signals"]] == [("spam", 0.4)]

    outcomes = [
        client.post("/v1/reports", json=f.report(pid, "spam")).json()["decision"]["outcome"]
        for _ in range(SPAM_MIN_REPORTS)
    ]

    assert outcomes == ["no_violation"] * (SPAM_MIN_REPORTS - 1) + ["review"]
    got = client.get(f"/v1/posts/{pid}").json()
    last = got["verdicts"][-1]
    assert (last["outcome"], last["policy"], last["trigger"]) == ("review", "spam", "report")
    assert "reports:review" in last["details"]["evaluations"][0]["reasons"]
    assert got["actions"] == []  # reports alone never act; they bring a human in
    assert got["status"] == "visible"


def test_reports_do_not_lift_a_benign_post(client: TestClient, author: str) -> None:
    pid = _post(client, author, BENIGN)

    for _ in range(SPAM_MIN_REPORTS + 1):
        resp = client.post("/v1/reports", json=f.report(pid, "spam"))
        assert resp.json()["decision"]["outcome"] == "no_violation"

    assert len(client.get(f"/v1/posts/{pid}").json()["verdicts"]) == 1


def test_a_report_sent_again_gets_its_first_result_and_a_different_one_409(
    client: TestClient, author: str
) -> None:
    pid = _post(client, author)
    data = f.report(pid)
    first = client.post("/v1/reports", json=data)
    assert first.status_code == 201

    again = client.post("/v1/reports", json=data)
    assert again.status_code == 200, again.text
    assert again.json()["report_id"] == first.json()["report_id"]
    assert again.json()["created"] is False
    assert_error(client.post("/v1/reports", json={**data, "reason": "other"}), 409, "platform_id")
    assert client.get(f"/v1/posts/{pid}").json()["report_count"] == 1
