"""Logins through the API: cookies, CSRF, logout, lockout, TOTP, forced password change, rate limit."""

from __future__ import annotations

import pyotp
from sqlalchemy import select

from tests.conftest import Clock
from tests.fixtures.staff import PASSWORD, csrf, https_client, log_in, person
from townsquare.access.models import StaffUser
from townsquare.access.permissions import SESSION_COOKIE
from townsquare.db import transaction
from townsquare.events import Event
from townsquare.runtime import Runtime


def _failed_logins(rt: Runtime, username: str) -> int:
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return user.failed_logins


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


def test_failed_logins_lock_the_account_until_the_lockout_passes(rt: Runtime, clock: Clock) -> None:
    person(rt, "ada", ("moderator",))
    failures = rt.settings.lockout_failures
    with https_client(rt) as c:
        for n in range(1, failures + 1):
            resp = log_in(c, "ada", "wrong password, try again")
            assert resp.status_code == 401
            assert resp.json()["message"] == "wrong username or password"
            if n < failures:
                assert _failed_logins(rt, "ada") == n
        locked = log_in(c, "ada")  # the right password, while locked
        assert locked.status_code == 403
        assert "locked" in locked.json()["message"]
        assert SESSION_COOKIE not in c.cookies
        clock.advance(minutes=rt.settings.lockout_minutes - 1)
        assert log_in(c, "ada").status_code == 403
        clock.advance(minutes=1, seconds=1)
        assert log_in(c, "ada").status_code == 200
    assert _failed_logins(rt, "ada") == 0
    bodies = _event_bodies(rt)
    assert any('"type":"user.locked"' in b for b in bodies)
    assert not any("wrong password, try again" in b or PASSWORD in b for b in bodies)


def test_totp_is_required_once_enabled(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        enrol = c.post("/v1/auth/totp/enrol", headers=csrf(session))
        assert enrol.status_code == 200, enrol.text
        secret = enrol.json()["secret"]
        assert enrol.json()["otpauth_uri"].startswith("otpauth://totp/Townsquare:ada?")
        totp = pyotp.TOTP(secret)
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
        assert log_in(c, "ada", totp=code).status_code == 200
    assert not any(secret in b for b in _event_bodies(rt))


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


def test_login_is_rate_limited_per_client_and_username(rt: Runtime, clock: Clock) -> None:
    limit = rt.settings.login_rate_per_minute
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        for _ in range(limit):
            assert log_in(c, "nobody-here", "guess").status_code == 401
        limited = log_in(c, "nobody-here", "guess")
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert log_in(c, "ada").status_code == 200  # another username is another bucket
        clock.advance(seconds=61)
        assert log_in(c, "nobody-here", "guess").status_code == 401
