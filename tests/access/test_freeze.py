"""Freezes (a user at once; a role or everyone with two admins, alerting auditors, lifting itself) and
break-glass grants."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_user
from tests.fixtures.two_person import account, approve, bearer, events, types
from townsquare.access import service as access
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime


def _write(client: TestClient, token: str, author: str) -> int:
    """A write (suspend an account, then undo it as the admin) as `token`; returns the status."""
    data = {"action": "suspend", "policy": "spam", "account": author, "reason": "x", "duration_days": 1}
    r = client.post("/v1/actions", json=data, headers=bearer(token))
    if r.status_code == 201:  # undo, so the next write can suspend again
        client.post(f"/v1/actions/{r.json()['id']}/reverse", json={"reason": "test"})
    return r.status_code


def _read(client: TestClient, token: str, author: str) -> int:
    return client.get(f"/v1/accounts/{author}", headers=bearer(token)).status_code


def _freeze(client: TestClient, expect: int, token: str | None = None, **body: Any) -> dict[str, Any]:
    headers = bearer(token) if token else {}
    r = client.post("/v1/freezes", json={"reason": "suspected takeover", **body}, headers=headers)
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


@pytest.fixture
def mod(rt: Runtime) -> str:
    """A moderator's token."""
    return seed_user(rt, "mod", ["moderator"])


def test_freezing_a_user_is_immediate_and_lifting_restores_access(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    author = account(client)
    assert _write(client, mod, author) == 201
    frozen = _freeze(client, 201, scope="user", target="mod")
    assert (frozen["scope"], frozen["target"], frozen["active"], frozen["read_only"]) == (
        "user",
        "mod",
        True,
        True,
    )
    assert _write(client, mod, author) == 403
    r = client.post(
        "/v1/actions", json={"action": "label", "policy": "spam", "post": "x"}, headers=bearer(mod)
    )
    assert (r.status_code, r.json()["detail"]["frozen"]) == (403, True)
    assert _read(client, mod, author) == 200  # read-only access kept
    lifted = client.post(f"/v1/freezes/{frozen['id']}/lift", json={"reason": "false alarm"})
    assert (lifted.status_code, lifted.json()["active"]) == (200, False)
    assert _write(client, mod, author) == 201
    assert types(rt, "freeze.") == ["freeze.started", "freeze.lifted"]


def test_a_freeze_without_read_only_refuses_reads_too(client: TestClient, mod: str) -> None:
    author = account(client)
    _freeze(client, 201, scope="user", target="mod", read_only=False)
    assert _read(client, mod, author) == 403


def test_a_user_freeze_names_a_known_user(client: TestClient) -> None:
    r = client.post("/v1/freezes", json={"scope": "user", "target": "nobody", "reason": "x"})
    assert (r.status_code, r.json()["detail"]["field"]) == (404, "target")


def test_freezing_everyone_needs_a_second_admin_alerts_auditors_spares_admins_and_lifts_itself(
    client: TestClient, rt: Runtime, clock: Clock, settings: Settings, mod: str
) -> None:
    second = seed_user(rt, "admin2", ["admin"])
    auditor = seed_user(rt, "auditor", ["auditor"])
    author = account(client)
    pending = _freeze(client, 202, scope="all")
    assert (pending["kind"], pending["required_permission"]) == ("freeze", "freeze:global")
    assert _write(client, mod, author) == 201  # nothing frozen yet
    assert approve(client, "test-admin-token", pending["id"]).status_code == 403  # the requester
    done = approve(client, second, pending["id"])
    assert done.status_code == 200, done.text
    assert _write(client, mod, author) == 403
    assert _read(client, mod, author) == 200
    assert client.get(f"/v1/accounts/{author}", headers=bearer(second)).status_code == 200
    assert _write(client, second, author) == 201  # an all-freeze spares admins, so they can lift it

    alerts = client.get("/v1/alerts", headers=bearer(auditor)).json()
    assert [(a["kind"], a["details"]["approved_by"]) for a in alerts] == [("freeze", "user:admin2")]
    assert "everyone but admins" in alerts[0]["message"]

    freeze = client.get("/v1/freezes").json()[0]
    assert freeze["ends_at"] == "2026-03-03T12:00:00.000000Z"  # now + freeze_max_hours (24)
    clock.advance(hours=settings.freeze_max_hours, seconds=1)
    assert _write(client, mod, author) == 201  # lifted itself
    assert client.get("/v1/freezes?active=true").json() == []
    assert types(rt, "freeze.") == ["freeze.started", "freeze.expired"]
    assert "alert.raised" in types(rt, "alert.")


def test_freezing_a_role_freezes_only_its_holders(client: TestClient, rt: Runtime, mod: str) -> None:
    second = seed_user(rt, "admin2", ["admin"])
    triage = seed_user(rt, "triage", ["triage"])
    author = account(client)
    pending = _freeze(client, 202, scope="role", target="moderator", read_only=False, hours=2)
    approve(client, second, pending["id"])
    assert _read(client, mod, author) == 403
    assert _read(client, triage, author) == 200
    freeze = client.get("/v1/freezes").json()[0]
    assert freeze["ends_at"] == "2026-03-02T14:00:00.000000Z"


def test_role_and_global_freezes_are_bounded(client: TestClient, settings: Settings) -> None:
    too_long = client.post(
        "/v1/freezes", json={"scope": "all", "reason": "x", "hours": settings.freeze_max_hours + 1}
    )
    assert (too_long.status_code, too_long.json()["detail"]["field"]) == (422, "hours")
    admins = client.post("/v1/freezes", json={"scope": "role", "target": "admin", "reason": "x"})
    assert (admins.status_code, admins.json()["detail"]["field"]) == (422, "target")


def test_only_freeze_holders_may_freeze(client: TestClient, rt: Runtime) -> None:
    auditor = seed_user(rt, "auditor", ["auditor"])
    denied = client.post("/v1/freezes", json={"scope": "all", "reason": "x"}, headers=bearer(auditor))
    assert (denied.status_code, denied.json()["detail"]["permission"]) == (403, "freeze:user")


def test_renewing_a_global_freeze_needs_a_second_admin_again(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    second = seed_user(rt, "admin2", ["admin"])
    approve(client, second, _freeze(client, 202, scope="all")["id"])
    freeze_id = client.get("/v1/freezes").json()[0]["id"]
    clock.advance(hours=20)
    renewal = client.post(f"/v1/freezes/{freeze_id}/renew", json={"reason": "still investigating"})
    assert (renewal.status_code, renewal.json()["kind"]) == (202, "freeze")
    assert approve(client, second, renewal.json()["id"]).json()["status"] == "approved"
    clock.advance(hours=10)  # 30 hours after it started: the renewal keeps it in force
    assert _write(client, mod, account(client)) == 403
    assert client.get("/v1/freezes").json()[0]["ends_at"] == "2026-03-04T08:00:00.000000Z"
    assert types(rt, "freeze.") == ["freeze.started", "freeze.renewed"]


def test_lifting_a_global_freeze_takes_one_admin_and_alerts_auditors(
    client: TestClient, rt: Runtime, mod: str
) -> None:
    second = seed_user(rt, "admin2", ["admin"])
    auditor = seed_user(rt, "auditor", ["auditor"])
    approve(client, second, _freeze(client, 202, scope="all")["id"])
    freeze_id = client.get("/v1/freezes").json()[0]["id"]
    assert client.post(f"/v1/freezes/{freeze_id}/lift", json={"reason": "resolved"}).status_code == 200
    assert _write(client, mod, account(client)) == 201
    kinds = [a["kind"] for a in client.get("/v1/alerts", headers=bearer(auditor)).json()]
    assert kinds == ["freeze_lifted", "freeze"]


def _break_glass(client: TestClient, expect: int, **over: Any) -> dict[str, Any]:
    body = {"username": "mod", "role": "auditor", "minutes": 30, "reason": "incident 42", **over}
    r = client.post("/v1/breakglass", json=body)
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def _fresh_token(rt: Runtime, username: str) -> str:
    with transaction(rt.sessions) as session:
        user = access.user_by_name(session, username)
        plain, _ = access.create_token(
            session, user, name="t", scopes=None, days=1, actor="test", now=rt.now()
        )
        return plain


def test_break_glass_works_for_its_minutes_then_expires_and_raises_an_alert(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    auditor = seed_user(rt, "auditor", ["auditor"])
    assert client.get("/v1/approvals", headers=bearer(mod)).status_code == 403
    grant = _break_glass(client, 201)
    assert (grant["break_glass"], grant["expires_at"]) == (True, "2026-03-02T12:30:00.000000Z")
    mod = _fresh_token(rt, "mod")  # a token carries the scopes held when it was issued
    assert client.get("/v1/approvals", headers=bearer(mod)).status_code == 200
    clock.advance(minutes=29)
    assert client.get("/v1/approvals", headers=bearer(mod)).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/v1/approvals", headers=bearer(mod)).status_code == 403
    alerts = client.get("/v1/alerts", headers=bearer(auditor)).json()
    assert [(a["kind"], a["details"]["reason"]) for a in alerts] == [("breakglass", "incident 42")]
    granted = events(rt, "role.granted")[-1]
    assert (granted["payload"]["break_glass"], granted["reason"]) == (True, "incident 42")
    assert "breakglass.granted" in types(rt, "breakglass.")


def test_break_glass_needs_a_reason_and_a_bounded_time(
    client: TestClient, settings: Settings, mod: str
) -> None:
    assert _break_glass(client, 422, reason="")["detail"][0]["field"] == "reason"
    assert _break_glass(client, 422, reason="   ")["detail"]["field"] == "reason"
    too_long = _break_glass(client, 422, minutes=settings.break_glass_max_minutes + 1)
    assert too_long["detail"]["field"] == "minutes"


@pytest.mark.parametrize(
    "role", ["admin", "senior_moderator", "election_integrity", "policy_publisher", "appeals_reviewer"]
)
def test_break_glass_never_grants_a_role_that_approves_grants_or_freezes(
    client: TestClient, rt: Runtime, mod: str, role: str
) -> None:
    """Finding: POST /v1/breakglass granted `admin`, so one admin could make a second approver."""
    refused = _break_glass(client, 403, role=role)
    assert refused["detail"]["field"] == "role"
    assert refused["detail"]["withheld"]
    assert "break-glass cannot grant" in refused["message"]
    with transaction(rt.sessions) as session:
        assert access.active_roles(session, access.user_by_name(session, "mod").id, rt.now()) == {"moderator"}
    assert types(rt, "breakglass.") == []


def test_break_glass_cannot_be_renewed_while_it_runs(
    client: TestClient, rt: Runtime, clock: Clock, mod: str
) -> None:
    """Finding: a break-glass grant could be renewed while active, indefinitely."""
    _break_glass(client, 201)
    clock.advance(minutes=29)
    again = _break_glass(client, 409)
    assert "cannot be renewed" in again["message"]
    assert again["detail"]["field"] == "role"
    clock.advance(minutes=1, seconds=1)  # it has ended: a new grant, with its own reason and alert
    assert _break_glass(client, 201, reason="incident 43")["expires_at"] == "2026-03-02T13:00:01.000000Z"
    assert types(rt, "breakglass.") == ["breakglass.granted", "breakglass.granted"]


def test_alerts_are_acknowledged_by_their_recipients_only(client: TestClient, rt: Runtime, mod: str) -> None:
    auditor = seed_user(rt, "auditor", ["auditor"])
    _break_glass(client, 201)
    alert = client.get("/v1/alerts?unacknowledged=true", headers=bearer(auditor)).json()[0]
    assert client.get("/v1/alerts").json() == []  # addressed to auditors, not to the admin
    assert client.post(f"/v1/alerts/{alert['id']}/ack").status_code == 403
    acked = client.post(f"/v1/alerts/{alert['id']}/ack", headers=bearer(auditor))
    assert (acked.status_code, acked.json()["acknowledged_by"]) == (200, "user:auditor")
    assert client.get("/v1/alerts?unacknowledged=true", headers=bearer(auditor)).json() == []
    assert len(client.get("/v1/alerts", headers=bearer(auditor)).json()) == 1
    assert client.post(f"/v1/alerts/{alert['id']}/ack", headers=bearer(auditor)).status_code == 409
    assert "alert.acknowledged" in types(rt, "alert.")
