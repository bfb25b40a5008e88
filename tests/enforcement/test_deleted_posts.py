"""An action on a post the platform already deleted is refused, and issues no strike (issue 11)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.content import assert_error
from tests.fixtures import factories as f


def test_an_action_on_a_deleted_post_is_409_and_issues_no_strike(client: TestClient) -> None:
    author = f.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    post = f.post(author["platform_id"])
    assert client.post("/v1/posts", json=post).status_code == 201
    assert client.delete(f"/v1/posts/{post['platform_id']}").status_code == 200

    for action in ("remove", "label", "reduce_reach"):
        body = {"action": action, "policy": "spam", "post": post["platform_id"], "reason": "spam"}
        assert_error(client.post("/v1/actions", json=body), 409, "post")

    stored = client.get(f"/v1/posts/{post['platform_id']}").json()
    assert (stored["status"], stored["actions"]) == ("deleted", [])
    assert client.get(f"/v1/accounts/{author['platform_id']}").json()["active_strikes"] == []


def test_a_bulk_action_skips_the_deleted_post_and_applies_the_rest(client: TestClient) -> None:
    author = f.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    gone, kept = f.post(author["platform_id"]), f.post(author["platform_id"])
    for post in (gone, kept):
        assert client.post("/v1/posts", json=post).status_code == 201
    assert client.delete(f"/v1/posts/{gone['platform_id']}").status_code == 200
    body = {"posts": [gone["platform_id"], kept["platform_id"]], "action": "label", "policy": "spam"}

    resp = client.post("/v1/actions/bulk", json={**body, "reason": "spam run", "strike": False})

    assert resp.status_code == 200, resp.text
    assert (resp.json()["applied"], resp.json()["failed"]) == (1, 1)
    assert client.get(f"/v1/posts/{gone['platform_id']}").json()["actions"] == []
