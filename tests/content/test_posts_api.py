"""Posts over HTTP: ingest and decision, idempotency, read view, edits, deletes and view metrics."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.content import BENIGN, SCAM, assert_error
from tests.fixtures import factories as f

PUID = re.compile(r"^[a-zA-Z0-9-_]+$")


@pytest.fixture
def author(client: TestClient) -> str:
    """An account that posts."""
    data = f.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _post(client: TestClient, author: str, text: str = BENIGN, **over: Any) -> dict[str, Any]:
    data = f.post(author, text, **over)
    resp = client.post("/v1/posts", json=data)
    assert resp.status_code == 201, resp.text
    return {"request": data, **resp.json()}


def test_create_post_returns_201_with_decision(client: TestClient, author: str) -> None:
    data = f.post(author)

    resp = client.post("/v1/posts", json=data)

    assert resp.status_code == 201
    body = resp.json()
    assert body["platform_id"] == data["platform_id"]
    assert body["created"] is True
    assert {"verdict_id", "outcome", "policy", "action", "statement_url"} <= set(body["decision"])


def test_benign_post_is_no_violation(client: TestClient, author: str) -> None:
    decision = _post(client, author, BENIGN)["decision"]

    assert decision["outcome"] == "no_violation"
    assert decision["action"] is None
    assert decision["statement_url"] is None


def test_scam_post_is_removed_with_a_valid_statement(client: TestClient, author: str) -> None:
    decision = _post(client, author, SCAM)["decision"]

    assert decision["outcome"] == "action"
    assert decision["action"] == "remove"
    assert decision["policy"] == "scams_fraud"
    statement = client.get(decision["statement_url"])
    assert statement.status_code == 200
    sor = statement.json()
    assert sor["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert sor["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert sor["incompatible_content_ground"]
    assert sor["incompatible_content_explanation"]
    assert sor["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert PUID.match(sor["puid"])
    assert sor["puid"] == decision["puid"]
    assert sor["automated_detection"] == "Yes"
    assert sor["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert sor["decision_facts"]
    assert sor["content_type"] == ["CONTENT_TYPE_TEXT"]
    assert sor["application_date"]
    assert sor["content_date"]


def test_same_post_twice_is_stored_once_and_returns_the_first_decision(
    client: TestClient, author: str
) -> None:
    data = f.post(author, SCAM)
    first = client.post("/v1/posts", json=data)

    again = client.post("/v1/posts", json=data)

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["decision"] == first.json()["decision"]
    assert again.json()["decision"]["verdict_id"] == first.json()["decision"]["verdict_id"]
    got = client.get(f"/v1/posts/{data['platform_id']}").json()
    assert len(got["versions"]) == 1
    assert len(got["verdicts"]) == 1
    assert len(got["actions"]) == 1


def test_same_id_with_different_text_is_409(client: TestClient, author: str) -> None:
    data = f.post(author)
    client.post("/v1/posts", json=data)

    resp = client.post("/v1/posts", json={**data, "text": "A completely different text."})

    assert_error(resp, 409, "platform_id")
    assert client.get(f"/v1/posts/{data['platform_id']}").json()["text"] == data["text"]


def test_same_id_with_a_different_author_is_409(client: TestClient, author: str) -> None:
    other = f.account()
    client.post("/v1/accounts", json=other)
    data = f.post(author)
    client.post("/v1/posts", json=data)

    resp = client.post("/v1/posts", json={**data, "author": other["platform_id"]})

    assert_error(resp, 409, "author")
    assert client.get(f"/v1/posts/{data['platform_id']}").json()["author"] == author


def test_unknown_author_is_422(client: TestClient) -> None:
    data = f.post("nobody-here")

    resp = client.post("/v1/posts", json=data)

    assert_error(resp, 422, "author")
    assert_error(client.get(f"/v1/posts/{data['platform_id']}"), 404, "post")


def test_get_post_shows_status_versions_signals_verdicts_actions(client: TestClient, author: str) -> None:
    pid = _post(client, author, SCAM)["platform_id"]

    resp = client.get(f"/v1/posts/{pid}")

    assert resp.status_code == 200
    got = resp.json()
    assert got["status"] == "removed"
    assert got["author"] == author
    assert got["text"] == SCAM
    assert [v["version"] for v in got["versions"]] == [1]
    assert [(s["scorer"], s["post_version"]) for s in got["signals"]] == [("textbank.scams_fraud", 1)]
    assert got["signals"][0]["score"] >= 0.95
    verdict = got["verdicts"][0]
    assert (verdict["outcome"], verdict["action"], verdict["trigger"]) == ("action", "remove", "ingest")
    assert isinstance(verdict["explanation"], str)
    assert "Scams and fraud policy v3" in verdict["explanation"]
    assert "0.95" in verdict["explanation"]  # the threshold that was applied
    assert isinstance(got["explanation"], str)
    assert got["explanation"]
    assert [(a["action"], a["automated"]) for a in got["actions"]] == [("remove", True)]


def test_get_unknown_post_is_404(client: TestClient) -> None:
    assert_error(client.get("/v1/posts/nothing-here"), 404, "post")


def test_reply_to_parent_is_recorded(client: TestClient, author: str) -> None:
    parent = _post(client, author)["platform_id"]

    reply = _post(client, author, "Agreed, it was beautiful.", reply_to=parent, quote_of=parent)

    got = client.get(f"/v1/posts/{reply['platform_id']}").json()
    assert got["reply_to"] == parent
    assert got["quote_of"] == parent


def test_edit_makes_version_2_and_rescores_it(client: TestClient, author: str) -> None:
    pid = _post(client, author, BENIGN)["platform_id"]

    resp = client.patch(f"/v1/posts/{pid}", json={"text": SCAM})

    assert resp.status_code == 200
    body = resp.json()
    assert body["version"] == 2
    assert body["decision"]["post_version"] == 2
    assert body["decision"]["outcome"] == "action"
    assert body["decision"]["action"] == "remove"
    got = client.get(f"/v1/posts/{pid}").json()
    assert [v["text"] for v in got["versions"]] == [BENIGN, SCAM]
    assert got["text"] == SCAM
    assert got["status"] == "removed"
    assert [s["post_version"] for s in got["signals"]] == [2]
    assert [(v["post_version"], v["outcome"], v["trigger"]) for v in got["verdicts"]] == [
        (1, "no_violation", "ingest"),
        (2, "action", "edit"),
    ]
    assert len(got["actions"]) == 1


def test_repeating_an_edit_returns_the_current_decision(client: TestClient, author: str) -> None:
    pid = _post(client, author, BENIGN)["platform_id"]
    edited = client.patch(f"/v1/posts/{pid}", json={"text": SCAM}).json()

    again = client.patch(f"/v1/posts/{pid}", json={"text": SCAM})

    assert again.status_code == 200
    assert again.json()["version"] == 2
    assert again.json()["decision"] == edited["decision"]
    assert len(client.get(f"/v1/posts/{pid}").json()["versions"]) == 2


def test_edit_unknown_post_is_404(client: TestClient) -> None:
    assert_error(client.patch("/v1/posts/nothing-here", json={"text": "hello"}), 404, "post")


def test_edit_deleted_post_is_409(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]
    client.delete(f"/v1/posts/{pid}")

    resp = client.patch(f"/v1/posts/{pid}", json={"text": "Changed my mind."})

    assert_error(resp, 409, "post")
    assert len(client.get(f"/v1/posts/{pid}").json()["versions"]) == 1


def test_delete_keeps_a_tombstone(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]

    resp = client.request(
        "DELETE", f"/v1/posts/{pid}", json={"deleted_at": "2026-03-02T11:30:00Z", "reason": "user deleted"}
    )

    assert resp.status_code == 200
    assert resp.json()["status"] == "deleted"
    got = client.get(f"/v1/posts/{pid}")
    assert got.status_code == 200
    assert got.json()["status"] == "deleted"
    assert got.json()["deleted_at"].startswith("2026-03-02T11:30:00")
    assert got.json()["text"] == BENIGN
    assert len(got.json()["versions"]) == 1


def test_delete_without_body_uses_now(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]

    resp = client.delete(f"/v1/posts/{pid}")

    assert resp.status_code == 200
    assert resp.json()["deleted_at"].startswith("2026-03-02T12:00:00")  # the test clock


def test_delete_twice_is_409(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]
    client.delete(f"/v1/posts/{pid}")

    assert_error(client.delete(f"/v1/posts/{pid}"), 409, "post")


def test_delete_unknown_post_is_404(client: TestClient) -> None:
    assert_error(client.delete("/v1/posts/nothing-here"), 404, "post")


def test_metrics_store_snapshots_and_views_is_the_max(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]
    items = [
        {"post": pid, "views": 40, "observed_at": "2026-03-02T11:10:00Z"},
        {"post": pid, "views": 900, "observed_at": "2026-03-02T11:40:00Z"},
        {"post": pid, "views": 300, "observed_at": "2026-03-02T11:20:00Z"},
    ]

    resp = client.post("/v1/posts/metrics", json={"items": items})

    assert resp.status_code == 200
    assert resp.json() == {"stored": 3, "repeated": 0, "rejected": []}
    got = client.get(f"/v1/posts/{pid}").json()
    assert got["views"] == 900
    assert [s["views"] for s in got["view_snapshots"]] == [40, 300, 900]  # in observation order


def test_metrics_for_an_unknown_post_are_reported_per_item(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]
    items = [
        {"post": "nothing-here", "views": 5, "observed_at": "2026-03-02T11:10:00Z"},
        {"post": pid, "views": 70, "observed_at": "2026-03-02T11:10:00Z"},
    ]

    resp = client.post("/v1/posts/metrics", json={"items": items})

    assert resp.status_code == 200
    body = resp.json()
    assert body["stored"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(0, "post")]
    assert "nothing-here" in body["rejected"][0]["message"]
    assert client.get(f"/v1/posts/{pid}").json()["views"] == 70


def test_invalid_metric_is_422_naming_the_field(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]

    resp = client.post(
        "/v1/posts/metrics",
        json={"items": [{"post": pid, "views": -1, "observed_at": "2026-03-02T11:10:00Z"}]},
    )

    assert_error(resp, 422, "views")


def test_a_repeated_metrics_call_stores_each_snapshot_once(client: TestClient, author: str) -> None:
    pid = _post(client, author)["platform_id"]
    items = [{"post": pid, "views": 40, "observed_at": "2026-03-02T11:10:00Z"}]

    client.post("/v1/posts/metrics", json={"items": items})
    again = client.post("/v1/posts/metrics", json={"items": items}).json()

    assert (again["stored"], again["repeated"]) == (0, 1)
    assert len(client.get(f"/v1/posts/{pid}").json()["view_snapshots"]) == 1
