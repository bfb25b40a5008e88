"""Human enforcement decisions, reversals, statements of reasons and notices through the HTTP API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Clock
from tests.fixtures import factories
from townsquare.db import transaction
from townsquare.enforcement.dsa import validate_statement
from townsquare.eventlog.events import Event, body_of, iso
from townsquare.runtime import Runtime

SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"


def _author(client: TestClient) -> str:
    data = factories.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _post(client: TestClient, author: str, text: str = "Lovely weather at the lake today.") -> str:
    data = factories.post(author, text)
    assert client.post("/v1/posts", json=data).status_code == 201
    return str(data["platform_id"])


def _act(client: TestClient, expect: int = 201, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/actions", json=body)
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def _statement(client: TestClient, action_id: int) -> dict[str, Any]:
    r = client.get(f"/v1/actions/{action_id}/statement")
    assert r.status_code == 200, r.text
    statement: dict[str, Any] = r.json()
    return statement


def _reverse(client: TestClient, action_id: int, reason: str = "overturned on review") -> Any:
    return client.post(f"/v1/actions/{action_id}/reverse", json={"reason": reason})


def test_label_needs_no_reason(client: TestClient) -> None:
    post = _post(client, _author(client))
    action = _act(client, action="label", policy="spam", post=post)
    assert (action["action"], action["automated"], action["status"]) == ("label", False, "active")
    assert client.get(f"/v1/posts/{post}").json()["status"] == "labelled"


def test_remove_without_reason_is_refused_naming_the_field(client: TestClient) -> None:
    post = _post(client, _author(client))
    body = _act(client, 422, action="remove", policy="spam", post=post, reason="  ")
    assert body["detail"]["field"] == "reason"
    assert client.get(f"/v1/posts/{post}").json()["status"] == "visible"


def test_suspend_without_duration_is_refused(client: TestClient) -> None:
    author = _author(client)
    body = _act(client, 422, action="suspend", policy="spam", account=author, reason="bulk posting")
    assert body["detail"]["field"] == "duration_days"
    assert client.get(f"/v1/accounts/{author}").json()["standing"] == "good"


def test_suspension_sets_standing_until_its_end_with_dated_statement(client: TestClient, rt: Runtime) -> None:
    author = _author(client)
    action = _act(
        client, action="suspend", policy="spam", account=author, reason="bulk posting", duration_days=7
    )
    end = rt.now() + timedelta(days=7)
    assert (action["target"], action["ends_at"]) == ("account", iso(end))

    account = client.get(f"/v1/accounts/{author}").json()
    assert (account["standing"], account["standing_until"]) == ("suspended", iso(end))
    statement = _statement(client, action["id"])
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["end_date_account_restriction"] == end.date().isoformat()
    assert statement["application_date"] == rt.now().date().isoformat()


def test_suspension_lapses_after_its_end(client: TestClient, clock: Clock) -> None:
    author = _author(client)
    _act(client, action="suspend", policy="spam", account=author, reason="bulk posting", duration_days=3)
    clock.advance(days=2, hours=23)
    assert client.get(f"/v1/accounts/{author}").json()["standing"] == "suspended"
    clock.advance(hours=2)
    assert client.get(f"/v1/accounts/{author}").json()["standing"] == "good"


def test_ban_terminates_with_no_end_date_and_cannot_repeat(client: TestClient) -> None:
    author = _author(client)
    action = _act(client, action="ban", policy="scams_fraud", account=author, reason="fraud ring")
    account = client.get(f"/v1/accounts/{author}").json()
    assert (account["standing"], account["standing_until"]) == ("banned", None)
    statement = _statement(client, action["id"])
    assert statement["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    ends = {k: v for k, v in statement.items() if k.startswith("end_date_")}
    assert ends
    assert all(v is None for v in ends.values())

    again = _act(client, 409, action="ban", policy="scams_fraud", account=author, reason="again")
    assert again["error"] == "conflict"
    suspend = _act(client, 409, action="suspend", policy="spam", account=author, reason="x", duration_days=1)
    assert suspend["error"] == "conflict"


def test_human_statements_say_nothing_was_automated(client: TestClient) -> None:
    author = _author(client)
    post = _post(client, author)
    actions = [
        _act(client, action="label", policy="spam", post=post),
        _act(client, action="remove", policy="spam", post=post, reason="link farm"),
        _act(client, action="suspend", policy="spam", account=author, reason="spam run", duration_days=2),
        _act(client, action="ban", policy="spam", account=author, reason="spam run continued"),
    ]
    for action in actions:
        statement = _statement(client, action["id"])
        validate_statement(statement)
        assert statement["automated_detection"] == "No"
        assert statement["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
        assert statement["source_type"] == "SOURCE_VOLUNTARY"


def _account_events(rt: Runtime, author: str) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        rows = session.scalars(select(Event).where(Event.subject_id == author).order_by(Event.id))
        return [body_of(e) for e in rows]


def test_reversing_a_removal_restores_the_post_and_removes_the_strike(client: TestClient) -> None:
    author = _author(client)
    post = _post(client, author, SCAM)
    action_id = client.get(f"/v1/posts/{post}").json()["actions"][0]["id"]
    assert len(client.get(f"/v1/accounts/{author}").json()["active_strikes"]) == 1

    r = _reverse(client, action_id, "a warning about a scam, not a scam")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "reversed"
    assert client.get(f"/v1/posts/{post}").json()["status"] == "visible"
    account = client.get(f"/v1/accounts/{author}").json()
    assert account["active_strikes"] == []
    removed = [h for h in account["history"] if h["type"] == "strike.removed"]
    assert len(removed) == 1
    assert removed[0]["reason"] == "a warning about a scam, not a scam"
    # The next violation starts from the bottom of the ladder again.
    decision = client.post("/v1/posts", json=factories.post(author, f"{SCAM} 2")).json()["decision"]
    assert decision["proposed_action"] == "remove"


def test_reversing_a_suspension_restores_standing_and_is_in_the_history(
    client: TestClient, rt: Runtime
) -> None:
    author = _author(client)
    action = _act(
        client, action="suspend", policy="spam", account=author, reason="bulk posting", duration_days=30
    )
    assert len(client.get(f"/v1/accounts/{author}").json()["active_strikes"]) == 1

    assert _reverse(client, action["id"], "mistaken identity").status_code == 200
    account = client.get(f"/v1/accounts/{author}").json()
    assert (account["standing"], account["standing_until"]) == ("good", None)
    assert account["active_strikes"] == []
    reversed_ = [h for h in account["history"] if h["type"] == "action.reversed"]
    assert len(reversed_) == 1
    assert reversed_[0]["reason"] == "mistaken identity"
    assert reversed_[0]["payload"]["action"] == "suspend"
    assert [a["status"] for a in account["actions"]] == ["reversed"]
    assert "action.applied" in [e["type"] for e in _account_events(rt, author)]


def test_reversing_a_ban_keeps_an_earlier_live_suspension(client: TestClient, rt: Runtime) -> None:
    author = _author(client)
    _act(client, action="suspend", policy="spam", account=author, reason="spam", duration_days=10)
    ban = _act(client, action="ban", policy="spam", account=author, reason="more spam")
    assert _reverse(client, ban["id"]).status_code == 200
    account = client.get(f"/v1/accounts/{author}").json()
    assert (account["standing"], account["standing_until"]) == (
        "suspended",
        iso(rt.now() + timedelta(days=10)),
    )


def test_reversal_twice_or_without_reason_is_refused(client: TestClient) -> None:
    author = _author(client)
    action = _act(client, action="ban", policy="spam", account=author, reason="spam")
    empty = _reverse(client, action["id"], "")
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["field"] == "reason"
    blank = _reverse(client, action["id"], "   ")
    assert (blank.status_code, blank.json()["detail"]["field"]) == (422, "reason")
    assert client.get(f"/v1/accounts/{author}").json()["standing"] == "banned"

    assert _reverse(client, action["id"]).status_code == 200
    twice = _reverse(client, action["id"])
    assert (twice.status_code, twice.json()["error"]) == (409, "conflict")


def test_statement_of_an_automated_removal_validates(client: TestClient) -> None:
    post = _post(client, _author(client), SCAM)
    action_id = client.get(f"/v1/posts/{post}").json()["actions"][0]["id"]
    statement = _statement(client, action_id)
    validate_statement(statement)
    assert statement["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert statement["automated_detection"] == "Yes"
    assert statement["automated_decision"] == "AUTOMATED_DECISION_FULLY"
    assert statement["category"] == "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    assert statement["content_language"] == "EN"
    assert post not in statement["decision_facts"]
    assert SCAM not in statement["decision_facts"]


def test_notice_names_rule_evidence_detection_and_appeal(client: TestClient) -> None:
    post = _post(client, _author(client), SCAM)
    action = client.get(f"/v1/posts/{post}").json()["actions"][0]
    r = client.get(f"/v1/actions/{action['id']}/notice")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    notice = r.text
    assert "Rule broken: Scams and fraud (version 3)" in notice
    assert "We do not allow attempts to deceive people" in notice
    assert "send 0.1 btc and get 1 btc" in notice
    assert "Our automated systems detected it." in notice
    assert "automated means, with no person reviewing it" in notice
    assert re.search(r"http://testserver/appeal/[\w-]+\.[\w-]+\n", notice)  # a signed link
    assert "until 2 September 2026" in notice  # six calendar months after 2 March 2026


def test_notice_of_a_human_ban_is_permanent_and_human(client: TestClient) -> None:
    author = _author(client)
    action = _act(client, action="ban", policy="spam", account=author, reason="spam network")
    notice = client.get(f"/v1/actions/{action['id']}/notice").text
    assert "Your account has been permanently closed. Duration: permanent." in notice
    assert "Our moderation team found it during its own review." in notice
    assert "A person on our moderation team made the decision." in notice


@pytest.mark.parametrize("path", ["", "/statement", "/notice"])
def test_unknown_action_is_404(client: TestClient, path: str) -> None:
    r = client.get(f"/v1/actions/999999{path}")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")


def test_reversing_an_unknown_action_is_404(client: TestClient) -> None:
    assert _reverse(client, 999999).status_code == 404
