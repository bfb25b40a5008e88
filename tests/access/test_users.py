"""User administration through the API: create, grant and revoke within one's own powers, disable."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import seed_user
from tests.fixtures.staff import csrf, https_client, log_in, person
from townsquare.access import service
from townsquare.access.models import StaffUser
from townsquare.access.roles import ROLES, ROLES_GRANT
from townsquare.db import transaction
from townsquare.runtime import Runtime


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _scoped_admin_token(rt: Runtime, scopes: set[str]) -> str:
    """A token of the test admin narrowed to `scopes`: holds roles:grant but not what admin carries."""
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "test-admin"))
        assert user is not None
        plain, _ = service.create_token(
            session, user, name="narrow", scopes=sorted(scopes), days=30, actor="test", now=rt.now()
        )
        return plain


def test_a_moderator_cannot_grant_admin_or_senior_moderator(client: TestClient, rt: Runtime) -> None:
    person(rt, "target")
    moderator = seed_user(rt, "mo", ["moderator"])
    narrow = _scoped_admin_token(rt, set(ROLES["moderator"]) | {ROLES_GRANT})
    with https_client(rt) as c:
        for role in ("admin", "senior_moderator"):
            body = {"role": role, "reason": "promotion"}
            plain = c.post("/v1/users/target/roles", json=body, headers=_bearer(moderator))
            assert plain.status_code == 403  # no roles:grant at all
            granting = c.post("/v1/users/target/roles", json=body, headers=_bearer(narrow))
            assert granting.status_code == 403, granting.text
            assert "cannot grant" in granting.json()["message"]
        ok = c.post("/v1/users/target/roles", json={"role": "triage", "reason": "x"}, headers=_bearer(narrow))
        assert ok.status_code == 201, ok.text  # within what it holds


def test_an_admin_cannot_grant_to_themselves(client: TestClient) -> None:
    resp = client.post("/v1/users/test-admin/roles", json={"role": "auditor", "reason": "curious"})
    assert resp.status_code == 403
    assert "themselves" in resp.json()["message"]


def test_granting_admin_waits_for_a_second_approver(client: TestClient, rt: Runtime) -> None:
    person(rt, "bea")
    resp = client.post("/v1/users/bea/roles", json={"role": "admin", "reason": "second on-call admin"})
    assert resp.status_code == 202, resp.text
    assert resp.json()["status"] == "pending_approval"
    users = {u["username"]: u for u in client.get("/v1/users").json()}
    assert "admin" not in users["bea"]["roles"]


def test_grant_then_revoke_a_role(client: TestClient, rt: Runtime) -> None:
    person(rt, "bea")
    granted = client.post("/v1/users/bea/roles", json={"role": "moderator", "reason": "joined the team"})
    assert granted.status_code == 201, granted.text
    users = {u["username"]: u for u in client.get("/v1/users").json()}
    assert users["bea"]["roles"] == ["moderator"]
    assert (
        client.post("/v1/users/bea/roles", json={"role": "moderator", "reason": "again"}).status_code == 409
    )
    revoked = client.delete("/v1/users/bea/roles/moderator", params={"reason": "left the team"})
    assert revoked.status_code == 200
    assert client.delete("/v1/users/bea/roles/moderator").status_code == 404
    users = {u["username"]: u for u in client.get("/v1/users").json()}
    assert users["bea"]["roles"] == []


def test_a_created_user_gets_a_one_time_password_and_must_change_it(client: TestClient, rt: Runtime) -> None:
    resp = client.post("/v1/users", json={"username": "cleo", "display_name": "Cleo"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["must_change_password"] is True
    assert client.post("/v1/users", json={"username": "cleo"}).status_code == 409
    listed = client.get("/v1/users").json()
    assert body["one_time_password"] not in str(listed)
    with https_client(rt) as c:
        session = log_in(c, "cleo", body["one_time_password"])
        assert session.status_code == 200
        assert session.json()["must_change_password"] is True


def test_disabling_a_user_kills_their_tokens_and_sessions(client: TestClient, rt: Runtime) -> None:
    person(rt, "dan", ("moderator",))
    with transaction(rt.sessions) as session:
        user = service.user_by_name(session, "dan")
        token, _ = service.create_token(
            session, user, name="t", scopes=None, days=30, actor="test", now=rt.now()
        )
    with https_client(rt) as c:
        session_resp = log_in(c, "dan")
        assert c.get("/v1/auth/me").status_code == 200
        done = client.post("/v1/users/dan/disable", json={"reason": "left the company"})
        assert done.status_code == 200, done.text
        assert done.json()["sessions_revoked"] == 1
        assert done.json()["tokens_revoked"] == 1
        assert c.get("/v1/auth/me").status_code == 401
        assert c.post("/v1/auth/logout", headers=csrf(session_resp)).status_code == 401
        assert c.get("/v1/auth/me", headers=_bearer(token)).status_code == 401
        assert log_in(c, "dan").status_code == 401
    with transaction(
        rt.sessions
    ) as session:  # even once the disable is undone, the old credentials stay dead
        user = service.user_by_name(session, "dan")
        user.status = "active"
        assert service.principal_for_token(session, token, rt.now() + timedelta(seconds=1)) is None


def test_an_admin_cannot_disable_themselves(client: TestClient) -> None:
    resp = client.post("/v1/users/test-admin/disable", json={"reason": "oops"})
    assert resp.status_code == 403
