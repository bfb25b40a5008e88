"""Logins through the API: cookies, CSRF, logout, TOTP (with the password, single-use), forced change."""

from __future__ import annotations

import httpx
import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Clock
from tests.fixtures.staff import PASSWORD, csrf, https_client, log_in, person
from townsquare.access.login import use_totp
from townsquare.access.models import StaffUser
from townsquare.access.permissions import SESSION_COOKIE
from townsquare.db import transaction
from townsquare.eventlog.events import Event
from townsquare.runtime import Runtime


def _event_bodies(rt: Runtime) -> list[str]:
    with transaction(rt.sessions) as session:
        return list(session.scalars(select(Event.body)))


def test_login_sets_a_secure_httponly_samesite_strict_cookie(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        resp = log_in(c, "ada")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["username"] == "ada"
    assert body["roles"] == ["moderator"]
    assert body["must_change_password"] is False
    assert len(body["csrf_token"]) >= 32
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "Secure", "Path=/", "Max-Age=43200"):
        assert attribute in cookie, cookie
    assert "samesite=strict" in cookie.lower()


def test_a_session_cookie_works_for_get(rt: Runtime) -> None:
    person(rt, "ada", ("auditor",))
    with https_client(rt) as c:
        log_in(c, "ada")
        me = c.get("/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["via"] == "session"
        assert me.json()["username"] == "ada"
        assert c.get("/v1/users").status_code == 200  # auditors hold users:read


def test_unsafe_request_with_a_cookie_needs_the_csrf_header(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        refused = c.post("/v1/auth/tokens", json={"name": "script"})
        assert refused.status_code == 403
        assert refused.json()["detail"]["field"] == "csrf_token"
        wrong = c.post("/v1/auth/tokens", json={"name": "script"}, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        ok = c.post("/v1/auth/tokens", json={"name": "script"}, headers=csrf(session))
        assert ok.status_code == 201, ok.text


def test_logout_revokes_the_session(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        cookie = c.cookies[SESSION_COOKIE]
        out = c.post("/v1/auth/logout", headers=csrf(session))
        assert out.status_code == 200, out.text
        assert SESSION_COOKIE not in c.cookies
        c.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")  # a stolen copy is dead too
        again = c.get("/v1/auth/me")
        assert again.status_code == 401
        assert "session" in again.json()["message"]


def _enrol(c: TestClient, session: httpx.Response, rt: Runtime) -> pyotp.TOTP:
    enrol = c.post("/v1/auth/totp/enrol", json={"password": PASSWORD}, headers=csrf(session))
    assert enrol.status_code == 200, enrol.text
    assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/Townsquare:ada?")
    return pyotp.TOTP(enrol.json()["secret"])


def test_totp_is_required_once_enabled(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        totp = _enrol(c, session, rt)
        code = totp.at(rt.now())
        wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
        bad = c.post("/v1/auth/totp/confirm", json={"code": wrong_code}, headers=csrf(session))
        assert bad.status_code == 422
        good = c.post("/v1/auth/totp/confirm", json={"code": code}, headers=csrf(session))
        assert good.status_code == 200, good.text
        c.post("/v1/auth/logout", headers=csrf(session))

        missing = log_in(c, "ada")
        assert missing.status_code == 401
        assert missing.json()["detail"] == {"field": "totp", "totp_required": True}
        assert log_in(c, "ada", totp=wrong_code).status_code == 401
    assert not any(totp.secret in b for b in _event_bodies(rt))


def test_enrolling_totp_needs_the_password_again(rt: Runtime) -> None:
    """Finding: TOTP enrolment did not ask for the password (a stolen session could bind its own app)."""
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        bare = c.post("/v1/auth/totp/enrol", json={}, headers=csrf(session))
        assert bare.status_code == 422
        assert "password" in bare.text
        wrong = c.post("/v1/auth/totp/enrol", json={"password": "not my password"}, headers=csrf(session))
        assert (wrong.status_code, wrong.json()["detail"]["field"]) == (403, "password")
        assert c.get("/v1/auth/me").json()["totp_enabled"] is False
        _enrol(c, session, rt)
    assert "totp.enrolment_started" in "".join(_event_bodies(rt))


def test_a_totp_code_is_accepted_once(rt: Runtime, clock: Clock) -> None:
    """Finding: a TOTP code could be used twice in its window."""
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        totp = _enrol(c, session, rt)
        first = totp.at(rt.now())
        assert c.post("/v1/auth/totp/confirm", json={"code": first}, headers=csrf(session)).status_code == 200
        c.post("/v1/auth/logout", headers=csrf(session))
        reused = log_in(c, "ada", totp=first)  # the confirming code, in the same 30 s
        assert (reused.status_code, reused.json()["detail"]["field"]) == (401, "totp")
        assert "already used" in reused.json()["message"]

        clock.advance(seconds=30)
        code = totp.at(rt.now())
        session = log_in(c, "ada", totp=code)
        assert session.status_code == 200, session.text
        c.post("/v1/auth/logout", headers=csrf(session))
        again = log_in(c, "ada", totp=code)
        assert again.status_code == 401
        assert "already used" in again.json()["message"]
        older = log_in(c, "ada", totp=totp.at(rt.now(), counter_offset=-1))  # still in the window, older
        assert older.status_code == 401
        clock.advance(seconds=30)
        assert log_in(c, "ada", totp=totp.at(rt.now())).status_code == 200
    with transaction(rt.sessions) as session_:
        user = session_.scalar(select(StaffUser).where(StaffUser.username == "ada"))
        assert user is not None
        assert user.totp_last_step == pyotp.TOTP(totp.secret).timecode(rt.now())


def test_a_forced_password_change_blocks_every_other_route(rt: Runtime) -> None:
    person(rt, "ada", ("admin",), must_change=True)
    with https_client(rt) as c:
        session = log_in(c, "ada")
        assert session.json()["must_change_password"] is True
        for method, path in (("GET", "/v1/users"), ("GET", "/v1/auth/me"), ("POST", "/v1/auth/tokens")):
            blocked = c.request(method, path, json={"name": "x"}, headers=csrf(session))
            assert blocked.status_code == 403, f"{method} {path}"
            assert blocked.json()["detail"]["must_change_password"] is True
        change = {"current_password": "not it at all", "new_password": "a brand new passphrase"}
        assert c.post("/v1/auth/password", json=change, headers=csrf(session)).status_code == 403
        change["current_password"] = PASSWORD
        done = c.post("/v1/auth/password", json=change, headers=csrf(session))
        assert done.status_code == 200, done.text
        assert c.get("/v1/users").status_code == 200  # the session that changed it goes on
        assert log_in(c, "ada", PASSWORD).status_code == 401
        assert log_in(c, "ada", "a brand new passphrase").status_code == 200


def test_a_totp_code_raced_by_two_requests_is_accepted_once(rt: Runtime) -> None:
    """Both requests read the user before either wrote: the conditional UPDATE lets only one through."""
    person(rt, "ada", ("moderator",))
    secret = pyotp.random_base32()
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == "ada"))
        assert user is not None
        user.totp_secret = secret
    code = pyotp.TOTP(secret).at(rt.now())
    first, second = rt.sessions(), rt.sessions()
    try:
        users = [s.scalar(select(StaffUser).where(StaffUser.username == "ada")) for s in (first, second)]
        assert users[0] is not None
        assert users[1] is not None
        assert users[1].totp_last_step is None  # the second request's view, before the first one lands
        assert use_totp(first, rt, users[0], secret, code) is True
        first.commit()
        assert use_totp(second, rt, users[1], secret, code) is False
    finally:
        first.close()
        second.close()
