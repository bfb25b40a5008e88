"""Protected subjects: tagged accounts need action:protected and are flagged; staff never act on their own."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.fixtures.two_person import account, bearer, events, post, types
from townsquare.runtime import Runtime


@pytest.fixture
def mod(rt: Runtime) -> str:
    """A moderator (no action:protected)."""
    return seed_user(rt, "mod", ["moderator"])


@pytest.fixture
def senior(rt: Runtime) -> str:
    """A senior moderator (holds action:protected)."""
    return seed_user(rt, "senior", ["senior_moderator"])


def _remove(client: TestClient, token: str, pid: str) -> Any:
    body = {"action": "remove", "policy": "harassment_threats", "post": pid, "reason": "targeted abuse"}
    return client.post("/v1/actions", json=body, headers=bearer(token))


def _tag(client: TestClient, author: str, tag: str = "journalist", token: str | None = None) -> Any:
    headers = bearer(token) if token else {}
    return client.post(f"/v1/accounts/{author}/tags", json={"tag": tag}, headers=headers)


def test_a_tagged_account_needs_action_protected_and_the_action_is_flagged(
    client: TestClient, rt: Runtime, mod: str, senior: str
) -> None:
    author = account(client)
    pid = post(client, author)
    tagged = _tag(client, author, token=senior)  # senior moderators hold accounts:tag
    assert (tagged.status_code, tagged.json()) == (
        201,
        {"account": author, "tags": ["journalist"], "protected": True},
    )
    refused = _remove(client, mod, pid)
    assert (refused.status_code, refused.json()["detail"]["permission"]) == (403, "action:protected")
    assert "protected subject" in refused.json()["message"]
    done = _remove(client, senior, pid)
    assert done.status_code == 201, done.text
    applied = [e for e in events(rt, "action.applied") if e["subject"]["id"] == pid]
    assert [e["payload"]["protected"] for e in applied] == [True]
    assert types(rt, "account.")[-1] == "account.tagged"


def test_actions_on_ordinary_accounts_are_flagged_unprotected(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    pid = post(client, account(client))
    assert _remove(client, mod, pid).status_code == 201
    assert [e["payload"]["protected"] for e in events(rt, "action.applied")] == [False]


def test_the_platforms_protected_flag_counts_too(client: TestClient, mod: str) -> None:
    author = account(client, protected=True)
    pid = post(client, author)
    assert _remove(client, mod, pid).status_code == 403
    assert client.get(f"/v1/accounts/{author}/tags").json() == {
        "account": author,
        "tags": [],
        "protected": True,
    }


def test_untagging_lifts_the_protection(client: TestClient, rt: Runtime, mod: str) -> None:
    author = account(client)
    pid = post(client, author)
    _tag(client, author, "candidate")
    assert _tag(client, author, "candidate").status_code == 409
    assert _remove(client, mod, pid).status_code == 403
    r = client.delete(f"/v1/accounts/{author}/tags/candidate")
    assert (r.status_code, r.json()["tags"]) == (200, [])
    assert client.delete(f"/v1/accounts/{author}/tags/candidate").status_code == 404
    assert _remove(client, mod, pid).status_code == 201
    assert [t for t in types(rt, "account.") if t.endswith("tagged")] == [
        "account.tagged",
        "account.untagged",
    ]


def test_tags_are_from_the_list_and_need_accounts_tag(client: TestClient, mod: str) -> None:
    author = account(client)
    bad = _tag(client, author, "celebrity")
    assert (bad.status_code, bad.json()["detail"][0]["field"]) == (422, "tag")
    denied = _tag(client, author, token=mod)
    assert (denied.status_code, denied.json()["detail"]["permission"]) == (403, "accounts:tag")
    assert _tag(client, "acct-nobody").status_code == 404


def test_a_staff_user_cannot_act_on_their_own_account_whatever_they_hold(
    client: TestClient, rt: Runtime, senior: str
) -> None:
    own = account(client)
    pid = post(client, own)
    r = client.post("/v1/users/senior/links", json={"account": own})
    assert (r.status_code, r.json()) == (201, {"username": "senior", "accounts": [own]})
    refused = _remove(client, senior, pid)
    assert (refused.status_code, refused.json()["message"]) == (
        403,
        "you cannot act on your own platform account",
    )
    suspend = {"action": "suspend", "policy": "spam", "account": own, "reason": "x", "duration_days": 1}
    assert client.post("/v1/actions", json=suspend, headers=bearer(senior)).status_code == 403
    assert _remove(client, "test-admin-token", pid).status_code == 201  # someone else may
    action_id = client.get(f"/v1/posts/{pid}").json()["actions"][0]["id"]
    reverse = client.post(f"/v1/actions/{action_id}/reverse", json={"reason": "mine"}, headers=bearer(senior))
    assert reverse.status_code == 403
    assert client.get("/v1/users/senior/links").json()["accounts"] == [own]
    assert client.delete(f"/v1/users/senior/links/{own}").json()["accounts"] == []
    assert types(rt, "user.account_") == ["user.account_linked", "user.account_unlinked"]


def test_a_linked_account_fails_its_item_in_a_bulk_decision(client: TestClient, senior: str) -> None:
    own, other = account(client), account(client)
    mine, theirs = post(client, own), post(client, other)
    client.post("/v1/users/senior/links", json={"account": own})
    body = {"posts": [mine, theirs], "action": "label", "policy": "spam", "reason": "wave"}
    out = client.post("/v1/actions/bulk", json=body, headers=bearer(senior)).json()
    assert [(r["post"], r["status"]) for r in out["results"]] == [(mine, "error"), (theirs, "applied")]
    assert out["results"][0]["error"] == "forbidden"
    assert client.get(f"/v1/posts/{mine}").json()["status"] == "visible"


def test_links_need_users_manage_and_known_names(client: TestClient, rt: Runtime, senior: str) -> None:
    own = account(client)
    denied = client.post("/v1/users/senior/links", json={"account": own}, headers=bearer(senior))
    assert (denied.status_code, denied.json()["detail"]["permission"]) == (403, "users:manage")
    assert client.post("/v1/users/nobody/links", json={"account": own}).status_code == 404
    missing = client.post("/v1/users/senior/links", json={"account": "acct-nobody"})
    assert (missing.status_code, missing.json()["detail"]["field"]) == (404, "account")
