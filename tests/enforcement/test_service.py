"""The ladder under automation: strikes escalate, account actions wait for a human, strikes expire."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.fixtures import factories
from townsquare.content import repository as repo
from townsquare.db import transaction
from townsquare.enforcement import service as enforcement
from townsquare.errors import Invalid
from townsquare.runtime import Runtime

# A crypto-doubling offer: the scams text bank scores it 1.0, above the policy's auto threshold (0.95).
SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"


def _author(client: TestClient) -> str:
    data = factories.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _scam(client: TestClient, author: str, n: int = 0) -> dict[str, Any]:
    r = client.post("/v1/posts", json=factories.post(author, f"{SCAM} #{n}"))
    assert r.status_code == 201, r.text
    decision: dict[str, Any] = r.json()["decision"]
    return decision


def test_repeated_violations_climb_the_ladder_but_automation_never_suspends(client: TestClient) -> None:
    author = _author(client)
    # scams_fraud v1 ladder: 0 strikes -> remove, 1 -> suspend (7 days), 3 -> ban.
    decisions = [_scam(client, author, n) for n in range(4)]

    assert [d["proposed_action"] for d in decisions] == ["remove", "suspend", "suspend", "ban"]
    assert [d["needs_human"] for d in decisions] == [False, True, True, True]
    assert all(d["outcome"] == "action" and d["action"] == "remove" for d in decisions)
    assert "account_action_needs_human" in decisions[1]["reasons"]

    second = client.get(f"/v1/actions/{decisions[1]['action_id']}").json()
    assert (second["action"], second["automated"], second["target"]) == ("remove", True, "post")
    account = client.get(f"/v1/accounts/{author}").json()
    assert account["standing"] == "good"
    assert account["standing_until"] is None
    assert len(account["active_strikes"]) == 4
    assert {a["action"] for a in account["actions"]} == {"remove"}
    assert all(a["target"] == "post" for a in account["actions"])


def test_posts_removed_while_an_account_action_is_proposed(client: TestClient) -> None:
    author = _author(client)
    _scam(client, author, 0)
    body = factories.post(author, f"{SCAM} again")
    decision = client.post("/v1/posts", json=body).json()["decision"]
    assert (decision["proposed_action"], decision["needs_human"]) == ("suspend", True)

    post = client.get(f"/v1/posts/{body['platform_id']}").json()
    assert post["status"] == "removed"
    assert [a["action"] for a in post["actions"]] == ["remove"]
    evaluation = post["verdicts"][0]["details"]["evaluations"][0]
    assert (evaluation["proposed_action"], evaluation["duration_days"]) == ("suspend", 7)
    assert "awaits a human decision" in post["explanation"]


def test_later_posts_in_one_batch_see_strikes_issued_earlier_in_it(client: TestClient) -> None:
    author = _author(client)
    posts = [factories.post(author, f"{SCAM} #{n}") for n in range(2)]
    r = client.post("/v1/posts/batch", json={"posts": posts})
    assert r.status_code == 200, r.text
    proposed = [item["decision"]["proposed_action"] for item in r.json()["results"]]
    assert proposed == ["remove", "suspend"]


def test_strikes_expire_and_the_ladder_drops_back(client: TestClient, clock: Clock) -> None:
    author = _author(client)
    _scam(client, author, 0)
    assert _scam(client, author, 1)["proposed_action"] == "suspend"

    clock.advance(days=179)  # strikes.expire_days is 180 for scams_fraud v1
    assert len(client.get(f"/v1/accounts/{author}").json()["active_strikes"]) == 2

    clock.advance(days=2)
    account = client.get(f"/v1/accounts/{author}").json()
    assert account["active_strikes"] == []
    decision = _scam(client, author, 2)
    assert (decision["proposed_action"], decision["needs_human"]) == ("remove", False)


def test_service_refuses_automated_account_actions(client: TestClient, rt: Runtime) -> None:
    author = _author(client)
    with transaction(rt.sessions) as session:
        account = repo.account(session, author)
        for action in ("suspend", "ban"):
            req = enforcement.ActionRequest(
                action_type=action,
                policy="scams_fraud",
                policy_version=1,
                account=account,
                actor="policy:scams_fraud@1",
                automated=True,
                ends_at=rt.now(),
            )
            with pytest.raises(Invalid, match="human decision"):
                enforcement.apply(session, req, rt.now())
    assert client.get(f"/v1/accounts/{author}").json()["standing"] == "good"
