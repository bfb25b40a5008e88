"""Accounts over HTTP: create (idempotent), profile updates with history, and the account read view."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.content import SCAM, assert_error
from tests.fixtures import factories as f
from townsquare.eventlog import chain
from townsquare.runtime import Runtime


def test_create_account_returns_201(client: TestClient) -> None:
    data = f.account()

    resp = client.post("/v1/accounts", json=data)

    assert resp.status_code == 201
    assert resp.json() == {"platform_id": data["platform_id"], "created": True, "profile_version": 1}
    got = client.get(f"/v1/accounts/{data['platform_id']}").json()
    assert got["handle"] == data["handle"]
    assert got["links"] == data["links"]
    assert got["standing"] == "good"


def test_same_account_twice_returns_200_not_created(client: TestClient) -> None:
    data = f.account()
    client.post("/v1/accounts", json=data)

    resp = client.post("/v1/accounts", json=data)

    assert resp.status_code == 200
    assert resp.json()["created"] is False
    assert len(client.get(f"/v1/accounts/{data['platform_id']}").json()["profile_history"]) == 1


def test_same_id_with_a_different_profile_is_409(client: TestClient) -> None:
    data = f.account()
    client.post("/v1/accounts", json=data)

    resp = client.post("/v1/accounts", json={**data, "bio": "Something else entirely."})

    assert_error(resp, 409, "platform_id")
    assert client.get(f"/v1/accounts/{data['platform_id']}").json()["bio"] == data["bio"]


def test_patch_keeps_every_profile_version(client: TestClient) -> None:
    data = f.account()
    pid = data["platform_id"]
    client.post("/v1/accounts", json=data)

    resp = client.patch(f"/v1/accounts/{pid}", json={"bio": "Now a beekeeper.", "follower_count": 500})

    assert resp.status_code == 200
    assert resp.json() == {"platform_id": pid, "profile_version": 2}
    got = client.get(f"/v1/accounts/{pid}").json()
    assert got["bio"] == "Now a beekeeper."
    history = got["profile_history"]
    assert [p["version"] for p in history] == [1, 2]
    assert history[0]["bio"] == data["bio"]
    assert history[0]["follower_count"] == 120
    assert history[1]["bio"] == "Now a beekeeper."
    assert history[1]["follower_count"] == 500
    assert history[1]["handle"] == data["handle"]
    assert {"account.created", "account.updated"} <= {e["type"] for e in got["history"]}


def test_patch_unknown_account_is_404(client: TestClient) -> None:
    resp = client.patch("/v1/accounts/nobody-here", json={"bio": "hello"})

    assert_error(resp, 404, "account")


def test_get_account_shows_standing_strikes_and_history(client: TestClient) -> None:
    data = f.account()
    pid = data["platform_id"]
    client.post("/v1/accounts", json=data)
    decided = client.post("/v1/posts", json=f.post(pid, SCAM)).json()["decision"]
    assert decided["action"] == "remove"

    got = client.get(f"/v1/accounts/{pid}")

    assert got.status_code == 200
    body = got.json()
    assert body["standing"] == "good"  # automation never suspends an account
    assert [s["policy"] for s in body["active_strikes"]] == ["scams_fraud"]
    assert body["active_strikes"][0]["expires_at"] > body["active_strikes"][0]["issued_at"]
    assert [a["action"] for a in body["actions"]] == ["remove"]
    types = [e["type"] for e in body["history"]]
    assert "account.created" in types
    assert "strike.issued" in types
    created = next(e for e in body["history"] if e["type"] == "account.created")
    assert created["payload"]["handle"] == data["handle"]  # personal fields decrypted for the reader


def test_get_unknown_account_is_404(client: TestClient) -> None:
    assert_error(client.get("/v1/accounts/nobody-here"), 404, "account")


def test_erase_over_http_blanks_the_profile_and_keeps_the_chain_valid(
    client: TestClient, rt: Runtime
) -> None:
    acct = f.account(handle="private_person", bio="I live at 12 Elm Street")
    client.post("/v1/accounts", json=acct)
    client.post("/v1/posts", json=f.post(acct["platform_id"], "my phone is 555 0100"))

    resp = client.post(f"/v1/accounts/{acct['platform_id']}/erase", json={"reason": "erasure request"})

    assert resp.json() == {"platform_id": acct["platform_id"], "erased": True}
    got = client.get(f"/v1/accounts/{acct['platform_id']}").json()
    assert (got["handle"], got["bio"], got["erased"]) == ("[erased]", "", True)
    created = next(h for h in got["history"] if h["type"] == "account.created")
    assert created["payload"]["bio"] == "[erased]"
    assert chain.verify(rt).ok


def test_erase_needs_a_reason_and_twice_is_409(client: TestClient) -> None:
    acct = f.account()
    client.post("/v1/accounts", json=acct)
    url = f"/v1/accounts/{acct['platform_id']}/erase"
    assert_error(client.post(url, json={}), 422, "reason")
    client.post(url, json={"reason": "request"})
    assert_error(client.post(url, json={"reason": "again"}), 409, "account")
