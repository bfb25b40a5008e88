"""The login, logout and password pages: double-submit CSRF, cookies, forced change, no inline code."""

from __future__ import annotations

import re

import httpx
import pyotp
from fastapi.testclient import TestClient

from tests.fixtures.staff import PASSWORD, https_client, person
from townsquare.access.permissions import SESSION_COOKIE
from townsquare.runtime import Runtime
from townsquare.web.pages_auth import LOGIN_CSRF_COOKIE


def _hidden_csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def _no_inline_code(html: str) -> None:
    assert "<script" not in html
    assert " style=" not in html
    assert "<style" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def _form_login(c: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    token = _hidden_csrf(c.get("/login").text)
    form = {"username": username, "password": password, "totp": "", "csrf_token": token}
    return c.post("/login", data=form, follow_redirects=False)


def test_the_login_page_has_labelled_fields_and_no_inline_code(rt: Runtime) -> None:
    with https_client(rt) as c:
        resp = c.get("/login")
    assert resp.status_code == 200
    html = resp.text
    for field in ("username", "password", "totp"):
        assert f'<label for="{field}"' in html
        assert f'id="{field}"' in html
    _no_inline_code(html)
    assert f"{LOGIN_CSRF_COOKIE}=" in resp.headers["set-cookie"]


def test_a_login_form_without_the_matching_cookie_is_refused(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        token = _hidden_csrf(c.get("/login").text)
        c.cookies.delete(LOGIN_CSRF_COOKIE)
        form = {"username": "ada", "password": PASSWORD, "csrf_token": token}
        resp = c.post("/login", data=form, follow_redirects=False)
        assert resp.status_code == 400
        assert SESSION_COOKIE not in c.cookies


def test_form_login_then_logout(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        bad = _form_login(c, "ada", "not the password")
        assert bad.status_code == 401
        assert "wrong username or password" in bad.text
        resp = _form_login(c, "ada")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/"
        assert "httponly" in resp.headers["set-cookie"].lower()
        assert c.get("/v1/auth/me").json()["username"] == "ada"
        page = c.get("/password")  # any page with the base layout carries the logout form
        assert page.status_code == 200
        csrf_token = _hidden_csrf(page.text)
        refused = c.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
        assert refused.status_code == 403
        out = c.post("/logout", data={"csrf_token": csrf_token}, follow_redirects=False)
        assert out.status_code == 303
        assert out.headers["location"] == "/login"
        assert c.get("/v1/auth/me").status_code == 401


def test_a_one_time_password_leads_to_the_forced_change(rt: Runtime) -> None:
    person(rt, "ada", ("admin",), must_change=True)
    with https_client(rt) as c:
        resp = _form_login(c, "ada")
        assert resp.status_code == 303
        assert resp.headers["location"] == "/password"
        page = c.get("/password")
        assert "one-time password" in page.text
        _no_inline_code(page.text)
        for field in ("current_password", "new_password", "confirm_password"):
            assert f'<label for="{field}"' in page.text
        token = _hidden_csrf(page.text)
        assert c.get("/v1/users").status_code == 403
        form = {"csrf_token": token, "current_password": PASSWORD, "new_password": "fresh passphrase here"}
        mismatch = c.post("/password", data={**form, "confirm_password": "something else"})
        assert mismatch.status_code == 422
        assert "differ" in mismatch.text
        done = c.post(
            "/password", data={**form, "confirm_password": form["new_password"]}, follow_redirects=False
        )
        assert done.status_code == 303
        assert c.get("/v1/users").status_code == 200


def test_the_totp_page_asks_for_the_password_before_showing_a_key(rt: Runtime) -> None:
    """Finding: TOTP enrolment did not ask for the password; the form asks for it too."""
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        assert _form_login(c, "ada").status_code == 303
        page = c.get("/totp")
        assert page.status_code == 200
        assert '<label for="password"' in page.text
        assert 'id="totp-secret"' not in page.text
        _no_inline_code(page.text)
        token = _hidden_csrf(page.text)
        wrong = c.post("/totp", data={"csrf_token": token, "password": "not my password"})
        assert wrong.status_code == 403
        assert "the password is wrong" in wrong.text
        assert 'id="totp-secret"' not in wrong.text
        shown = c.post("/totp", data={"csrf_token": token, "password": PASSWORD})
        assert shown.status_code == 200
        secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', shown.text)
        assert secret, shown.text
        _no_inline_code(shown.text)
        code = pyotp.TOTP(secret.group(1)).at(rt.now())
        bad = c.post(
            "/totp/confirm", data={"csrf_token": token, "code": "000000" if code != "000000" else "1"}
        )
        assert bad.status_code == 422
        done = c.post("/totp/confirm", data={"csrf_token": token, "code": code}, follow_redirects=False)
        assert (done.status_code, done.headers["location"]) == (303, "/totp")
        assert 'id="totp-on"' in c.get("/totp").text
        assert c.get("/v1/auth/me").json()["totp_enabled"] is True
