"""The two-person rule: high-impact bans, reinstatements, bulk decisions, publishing, admin grants."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_user
from tests.fixtures.two_person import account, approve, bearer, events, post, types
from townsquare.access import approvals
from townsquare.access import service as access
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime

BIG = 250_000  # above high_impact_followers (100,000)


@pytest.fixture
def seniors(rt: Runtime) -> tuple[str, str]:
    """Two senior moderators' tokens: one asks, the other approves."""
    return seed_user(rt, "senior1", ["senior_moderator"]), seed_user(rt, "senior2", ["senior_moderator"])


def _ban(client: TestClient, token: str, target: str, expect: int) -> dict[str, Any]:
    body = {"action": "ban", "policy": "scams_fraud", "account": target, "reason": "fraud ring"}
    r = client.post("/v1/actions", json=body, headers=bearer(token))
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_low_follower_ban_is_applied_at_once(client: TestClient, seniors: tuple[str, str]) -> None:
    target = account(client, followers=500)
    action = _ban(client, seniors[0], target, 201)
    assert (action["action"], action["actor"]) == ("ban", "user:senior1")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"
    assert client.get("/v1/approvals").json() == []


def test_a_high_follower_ban_waits_for_a_second_person_and_executes_once(
    client: TestClient, rt: Runtime, seniors: tuple[str, str]
) -> None:
    first, second = seniors
    target = account(client, followers=BIG)
    pending = _ban(client, first, target, 202)
    assert (pending["kind"], pending["status"], pending["required_permission"]) == (
        "ban",
        "pending",
        "action:ban",
    )
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "good"
    queue = client.get("/v1/approvals", headers=bearer(second)).json()
    assert [(a["id"], a["expires_at"]) for a in queue] == [(pending["id"], "2026-03-04T12:00:00.000000Z")]

    own = approve(client, first, pending["id"])
    assert (own.status_code, own.json()["detail"]["field"]) == (403, "approval_id")
    done = approve(client, second, pending["id"])
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["decided_by"]) == ("approved", "user:senior2")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"

    again = approve(client, second, pending["id"])
    assert (again.status_code, again.json()["error"]) == (409, "conflict")
    applied = [e for e in events(rt, "action.applied") if e["subject"]["id"] == target]
    assert len(applied) == 1
    assert applied[0]["actor"] == "user:senior1"  # the requester's decision, carried out
    assert applied[0]["payload"]["approval"] == pending["id"]
    assert f"approval #{pending['id']}" in applied[0]["reason"]
    assert types(rt, "approval.") == ["approval.requested", "approval.approved"]


def test_the_approver_needs_the_permission_the_change_needs(client: TestClient, rt: Runtime) -> None:
    asker = seed_user(rt, "senior1", ["senior_moderator"])
    publisher = seed_user(rt, "publisher", ["policy_publisher"])  # sees the queue, may not ban
    pending = _ban(client, asker, account(client, followers=BIG), 202)
    r = approve(client, publisher, pending["id"])
    assert (r.status_code, r.json()["detail"]["permission"]) == (403, "action:ban")
    assert client.get(f"/v1/approvals/{pending['id']}").json()["status"] == "pending"


def test_a_protected_account_ban_needs_a_second_person_whatever_its_followers(
    client: TestClient, seniors: tuple[str, str]
) -> None:
    target = account(client, followers=10, protected=True)
    pending = _ban(client, seniors[0], target, 202)
    assert "protected" in pending["summary"]
    assert approve(client, seniors[1], pending["id"]).json()["status"] == "approved"
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"


def test_an_approval_expires_after_approval_hours(
    client: TestClient, rt: Runtime, clock: Clock, settings: Settings, seniors: tuple[str, str]
) -> None:
    target = account(client, followers=BIG)
    pending = _ban(client, seniors[0], target, 202)
    clock.advance(hours=settings.approval_hours, seconds=1)
    late = approve(client, seniors[1], pending["id"])
    assert (late.status_code, late.json()["error"]) == (409, "conflict")
    assert "expired" in late.json()["message"]
    assert client.get(f"/v1/approvals/{pending['id']}").json()["status"] == "expired"
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "good"
    assert client.get("/v1/approvals").json() == []
    assert [a["id"] for a in client.get("/v1/approvals?status=expired").json()] == [pending["id"]]
    assert "approval.expired" in types(rt, "approval.")


def test_rejection_and_withdrawal_change_nothing(
    client: TestClient, rt: Runtime, seniors: tuple[str, str]
) -> None:
    first, second = seniors
    target = account(client, followers=BIG)
    one = _ban(client, first, target, 202)
    r = client.post(
        f"/v1/approvals/{one['id']}/reject", json={"reason": "not enough"}, headers=bearer(second)
    )
    assert (r.status_code, r.json()["status"]) == (200, "rejected")
    two = _ban(client, first, target, 202)
    dup = _ban(client, second, target, 409)  # one pending ban per account
    assert "awaiting approval" in dup["message"]
    r = client.post(f"/v1/approvals/{two['id']}/reject", json={"reason": "mistake"}, headers=bearer(first))
    assert (r.status_code, r.json()["status"]) == (200, "cancelled")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "good"
    statuses = {a["id"]: a["status"] for a in client.get("/v1/approvals?status=all").json()}
    assert statuses == {one["id"]: "rejected", two["id"]: "cancelled"}
    assert {"approval.rejected", "approval.cancelled"} <= set(types(rt, "approval."))


def test_a_requester_who_lost_the_permission_cannot_have_it_carried_out(
    client: TestClient, rt: Runtime, seniors: tuple[str, str]
) -> None:
    pending = _ban(client, seniors[0], account(client, followers=BIG), 202)
    with transaction(rt.sessions) as session:
        user = access.user_by_name(session, "senior1")
        access.revoke_role(session, user, "senior_moderator", actor="test", now=rt.now())
    r = approve(client, seniors[1], pending["id"])
    assert (r.status_code, r.json()["error"]) == (403, "forbidden")
    view = client.get(f"/v1/approvals/{pending['id']}").json()
    assert (view["status"], view["result"]["error"]) == ("failed", "forbidden")
    assert "approval.failed" in types(rt, "approval.")


def test_reinstating_a_high_impact_account_needs_a_second_person(
    client: TestClient, rt: Runtime, seniors: tuple[str, str]
) -> None:
    first, second = seniors
    target = account(client, followers=BIG)
    banned = _ban(client, first, target, 202)
    action_id = approve(client, second, banned["id"]).json()["result"]["action_id"]
    r = client.post(
        f"/v1/actions/{action_id}/reverse", json={"reason": "appeal upheld"}, headers=bearer(first)
    )
    assert r.status_code == 202, r.text
    assert (r.json()["kind"], r.json()["required_permission"]) == ("reinstate", "action:reinstate")
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "banned"
    assert approve(client, first, r.json()["id"]).status_code == 403
    assert approve(client, second, r.json()["id"]).json()["status"] == "approved"
    assert client.get(f"/v1/accounts/{target}").json()["standing"] == "good"
    reversed_ = events(rt, "action.reversed")
    assert [(e["actor"], e["payload"]["approval"]) for e in reversed_] == [("user:senior1", r.json()["id"])]


def test_reversing_a_post_removal_on_a_big_account_needs_no_second_person(
    client: TestClient, seniors: tuple[str, str]
) -> None:
    pid = post(client, account(client, followers=BIG))
    body = {"action": "remove", "policy": "spam", "post": pid, "reason": "spam"}
    action = client.post("/v1/actions", json=body, headers=bearer(seniors[0])).json()
    r = client.post(f"/v1/actions/{action['id']}/reverse", json={"reason": "x"}, headers=bearer(seniors[0]))
    assert (r.status_code, r.json()["status"]) == (200, "reversed")


def _bulk(client: TestClient, token: str, posts: list[str], expect: int) -> dict[str, Any]:
    body = {"posts": posts, "action": "remove", "policy": "spam", "reason": "spam wave"}
    r = client.post("/v1/actions/bulk", json=body, headers=bearer(token))
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def test_a_bulk_decision_up_to_the_size_is_applied_at_once_with_per_item_results(
    client: TestClient, rt: Runtime, settings: Settings, seniors: tuple[str, str]
) -> None:
    author = account(client)
    posts = [post(client, author, f"Buy now number {i}") for i in range(settings.bulk_approval_size - 1)]
    out = _bulk(client, seniors[0], [*posts, "post-unknown"], 200)
    assert (out["applied"], out["failed"]) == (len(posts), 1)
    assert out["results"][-1] == {
        "post": "post-unknown",
        "status": "error",
        "error": "invalid",
        "message": "no post post-unknown",
    }
    assert client.get(f"/v1/posts/{posts[0]}").json()["status"] == "removed"
    assert client.get("/v1/approvals").json() == []


def test_a_bulk_decision_above_the_size_waits_for_a_second_person(
    client: TestClient, rt: Runtime, settings: Settings, seniors: tuple[str, str]
) -> None:
    author = account(client)
    posts = [post(client, author, f"Buy now number {i}") for i in range(settings.bulk_approval_size + 1)]
    pending = _bulk(client, seniors[0], posts, 202)
    assert (pending["kind"], pending["required_permission"]) == ("bulk", "bulk:decide")
    assert client.get(f"/v1/posts/{posts[0]}").json()["status"] == "visible"
    done = approve(client, seniors[1], pending["id"])
    assert done.status_code == 200, done.text
    assert (done.json()["result"]["applied"], done.json()["result"]["failed"]) == (len(posts), 0)
    assert client.get(f"/v1/posts/{posts[-1]}").json()["status"] == "removed"
    applied = events(rt, "action.applied")
    assert len(applied) == len(posts)
    assert {e["actor"] for e in applied} == {"user:senior1"}
    assert {e["payload"]["approval"] for e in applied} == {pending["id"]}


def test_bulk_needs_bulk_decide_and_the_rungs_permission(client: TestClient, rt: Runtime) -> None:
    moderator = seed_user(rt, "mod", ["moderator"])  # may remove, may not decide in bulk
    r = client.post(
        "/v1/actions/bulk",
        json={"posts": ["p"], "action": "remove", "policy": "spam", "reason": "x"},
        headers=bearer(moderator),
    )
    assert (r.status_code, r.json()["detail"]["permission"]) == (403, "bulk:decide")


def test_granting_admin_needs_a_second_admin(client: TestClient, rt: Runtime) -> None:
    second = seed_user(rt, "admin2", ["admin"])
    seed_user(rt, "newcomer", ["moderator"])
    with transaction(rt.sessions) as session:
        me = access.user_by_name(session, "test-admin")
        roles = access.active_roles(session, me.id, rt.now())
        asker = access.Principal(
            actor="user:test-admin", permissions=access.permissions_of(roles), user_id=me.id, roles=roles
        )
        approval_id = approvals.request_admin_grant(session, rt, asker, "newcomer", "on-call lead").id
    assert client.post(f"/v1/approvals/{approval_id}/approve", json={}).status_code == 403
    done = approve(client, second, approval_id)
    assert (done.status_code, done.json()["result"]["role"]) == (200, "admin")
    with transaction(rt.sessions) as session:
        user = access.user_by_name(session, "newcomer")
        assert "admin" in access.active_roles(session, user.id, rt.now())
    granted = events(rt, "role.granted")[-1]
    assert (granted["actor"], granted["subject"]["id"], granted["payload"]["role"]) == (
        "user:test-admin",
        "newcomer",
        "admin",
    )


def test_a_policy_publish_changes_nothing_until_a_second_publisher_approves(
    client: TestClient, rt: Runtime
) -> None:
    first = seed_user(rt, "publisher1", ["policy_publisher"])
    second = seed_user(rt, "publisher2", ["policy_publisher"])
    editor = seed_user(rt, "editor", ["policy_editor"])
    url = "/v1/policies/hate_speech/versions/2/publish"
    assert client.post(url, json={"state": "live", "reason": "x"}, headers=bearer(editor)).status_code == 403
    r = client.post(url, json={"state": "live", "reason": "shadow looks good"}, headers=bearer(first))
    assert (r.status_code, r.json()["kind"]) == (202, "policy_publish")
    assert client.get("/v1/policies/hate_speech/versions/2").json()["state"] == "shadow"
    assert approve(client, first, r.json()["id"]).status_code == 403
    assert approve(client, editor, r.json()["id"]).status_code == 403  # editors cannot publish
    assert approve(client, second, r.json()["id"]).json()["status"] == "approved"
    assert client.get("/v1/policies/hate_speech/versions/2").json()["state"] == "live"
    published = events(rt, "policy.published")[-1]
    assert (published["actor"], published["payload"]["approved_by"]) == ("user:publisher1", "user:publisher2")
