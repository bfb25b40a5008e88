"""Reinstatement under published criteria: waiting periods, never-eligible tiers, council, probation, log."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.content import assert_error
from tests.fixtures.clients import Staff, account, post


def _ban(admin: TestClient, acct: str, policy: str, second: TestClient | None = None) -> dict[str, Any]:
    body = {"action": "ban", "policy": policy, "account": acct, "reason": f"banned under {policy}"}
    resp = admin.post("/v1/actions", json=body)
    if resp.status_code == 202:  # a high-reach ban waits for a second person
        assert second is not None
        approved = second.post(f"/v1/approvals/{resp.json()['id']}/approve", json={"reason": "checked"})
        assert approved.status_code == 200, approved.text
        return dict(approved.json())
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _apply(
    platform: TestClient, acct: str, statement: str = "I understand what I did and will follow the rules"
) -> Any:
    return platform.post("/v1/reinstatements", json={"account": acct, "statement": statement})


def test_waiting_period_review_reinstatement_and_probation(
    platform: TestClient, admin: TestClient, staff: Staff, clock: Clock
) -> None:
    acct = account(platform)
    _ban(admin, acct, "spam")
    early = _apply(platform, acct)
    assert_error(early, 409, "account")
    assert "apply on or after" in early.json()["message"]
    clock.advance(days=31)
    resp = _apply(platform, acct)
    assert resp.status_code == 201, resp.text
    public = resp.json()
    assert public["state"] == "staff_review"
    assert set(public) >= {"id", "policy", "tier", "outcome"}
    assert "account" not in public
    assert "statement" not in public
    assert_error(_apply(platform, acct), 409, "account")  # once per waiting period
    senior = staff("senior", ["senior_moderator"])
    [pending] = senior.get("/v1/reinstatements").json()
    body = {"outcome": "reinstated", "reason": "a year of good standing elsewhere"}
    done = senior.post(f"/v1/reinstatements/{pending['app_id']}/decide", json=body)
    assert done.status_code == 200, done.text
    view = platform.get(f"/v1/accounts/{acct}").json()
    assert view["standing"] == "good"
    # on probation the ladder counts 4 extra strikes: the next spam post proposes an account action
    later = post(platform, acct, "click here to buy cheap followers now, click here")
    verdict = platform.get(f"/v1/posts/{later}").json()["verdicts"][0]
    assert verdict["proposed_action"] in ("suspend", "ban")


def test_never_eligible_tiers_are_refused_with_the_published_reason(
    platform: TestClient, admin: TestClient, clock: Clock
) -> None:
    acct = account(platform)
    _ban(admin, acct, "harassment_threats")
    clock.advance(days=400)
    resp = _apply(platform, acct)
    assert resp.status_code == 201, resp.text
    assert resp.json()["state"] == "refused"
    assert resp.json()["reason"] == "credible threats of violence are never reinstated"
    log = platform.get("/v1/public/reinstatements").json()
    assert log["applications"][0]["reason"] == "credible threats of violence are never reinstated"
    assert acct not in str(log)
    assert "follow the rules" not in str(log)
    assert_error(_apply(platform, account(platform)), 409, "account")  # not banned at all


def test_high_reach_accounts_go_to_the_council_and_departures_need_a_public_reason(
    platform: TestClient, admin: TestClient, staff: Staff, clock: Clock, rt: Any
) -> None:
    acct = account(platform, follower_count=250_000, handle="famous_person", display_name="Famous Person")
    _ban(admin, acct, "spam", staff("admin2", ["admin"]))
    clock.advance(days=31)
    statement = "I am famous_person, write to me at famous@example.com or call +44 7700 900123"
    app = _apply(platform, acct, statement).json()
    assert app["state"] == "council"
    members = []
    for i in range(6):
        c = staff(f"c{i}", ["council_member"])
        seated = admin.post(
            "/v1/council/members",
            json={
                "username": f"c{i}",
                "display_name": f"Member {i}",
                "affiliation": "civil-rights group" if i % 2 else "press freedom",
            },
        )
        assert seated.status_code == 201, seated.text
        members.append(c)
    [ref] = members[0].get("/v1/council/referrals").json()
    packet = str(ref["packet"])
    assert "famous" not in packet.lower()
    assert "7700" not in packet
    assert "[email]" in ref["packet"]["statement"]
    for c in members:
        vote = {"vote": "support", "rationale": "the spam was minor and long ago", "tags": ["proportionate"]}
        assert c.post(f"/v1/council/referrals/{ref['id']}/votes", json=vote).status_code == 201
    senior = staff("senior", ["senior_moderator"])
    closed = senior.post(f"/v1/council/referrals/{ref['id']}/close").json()
    assert closed["recommendation"]["votes"] == 6
    rec = closed["recommendation"]["outcome"]
    pending = senior.get("/v1/reinstatements").json()[0]
    decision = {"outcome": "denied" if rec == "support" else "reinstated", "reason": "we weighed the risk"}
    if rec in ("support", "oppose"):
        assert_error(
            senior.post(f"/v1/reinstatements/{pending['app_id']}/decide", json=decision),
            422,
            "departure_reason",
        )
        decision["departure_reason"] = "the account promoted scams again on another platform"
    done = senior.post(f"/v1/reinstatements/{pending['app_id']}/decide", json=decision)
    assert done.status_code == 200, done.text
    entry = platform.get("/v1/public/reinstatements").json()["applications"][0]
    assert entry["council_recommendation"] == rec
    if rec in ("support", "oppose"):
        assert entry["departure_reason"] == "the account promoted scams again on another platform"


def test_staff_disagreement_refers_to_the_council(
    platform: TestClient, admin: TestClient, staff: Staff, clock: Clock
) -> None:
    acct = account(platform)
    _ban(admin, acct, "spam")
    clock.advance(days=31)
    app = _apply(platform, acct).json()
    a, b = staff("a", ["senior_moderator"]), staff("b", ["senior_moderator"])
    app_id = a.get("/v1/reinstatements").json()[0]["app_id"]
    assert (
        a.post(f"/v1/reinstatements/{app_id}/votes", json={"vote": "reinstate", "reason": "fine"}).status_code
        == 200
    )
    assert_error(a.post(f"/v1/reinstatements/{app_id}/votes", json={"vote": "deny", "reason": "again"}), 409)
    voted = b.post(f"/v1/reinstatements/{app_id}/votes", json={"vote": "deny", "reason": "not yet"}).json()
    assert voted["state"] == "council"
    assert app["id"] == voted["id"]
