"""Passwords are checked against a common-password list and zxcvbn's estimate wherever one is set."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.staff import PASSWORD, csrf, https_client, log_in, person
from townsquare.access import passwords, service
from townsquare.access.bootstrap import one_time_password
from townsquare.errors import Invalid
from townsquare.runtime import Runtime


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password1234", "one of the 30,000 most common passwords"),  # the finding
        ("qwertyuiop123", "one of the 30,000 most common passwords"),
        ("iloveyou2024!", "too easy to guess (strength 2 of 4, 3 needed). This is similar to a commonly"),
        ("Tr0ub4dor&3", "at least 12 characters"),
        ("gracehopper1906", "too easy to guess"),  # the user's own name (zxcvbn scores it 3 otherwise)
    ],
)
def test_weak_passwords_are_refused_with_the_reason(password: str, why: str) -> None:
    with pytest.raises(Invalid) as refused:
        passwords.check_password_strength(password, ("grace", "Grace Hopper"))
    assert why in refused.value.message
    assert refused.value.detail["field"] == "password"


WORDS = "lighthouse marmalade quantum zephyr obsidian tangerine cobblestone whistle harbour velvet"
LONG = f"{WORDS} ember saffron glacier meadow lantern"  # beyond the 72 characters zxcvbn reads


@pytest.mark.parametrize("password", [PASSWORD, "Grace.Townsquare.1906", LONG, LONG * 10])
def test_strong_passwords_pass(password: str) -> None:
    passwords.check_password_strength(password, ("grace", "Grace Hopper"))


def test_generated_one_time_passwords_always_pass() -> None:
    for _ in range(20):
        passwords.check_password_strength(one_time_password())


def test_the_api_refuses_password1234_saying_why(rt: Runtime) -> None:
    """Finding: `password1234` was accepted."""
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        session = log_in(c, "ada")
        change = {"current_password": PASSWORD, "new_password": "password1234"}
        r = c.post("/v1/auth/password", json=change, headers=csrf(session))
        assert r.status_code == 422
        assert r.json()["detail"] == {"field": "new_password", "reason": "common"}
        assert "most common passwords" in r.json()["message"]
        assert log_in(c, "ada", "password1234").status_code == 401


def test_the_password_page_refuses_password1234_saying_why(rt: Runtime) -> None:
    person(rt, "ada", ("moderator",))
    with https_client(rt) as c:
        form = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token.group(1)})
        page = c.get("/password")
        csrf_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf_field is not None
        weak = {
            "current_password": PASSWORD,
            "new_password": "password1234",
            "confirm_password": "password1234",
        }
        r = c.post("/password", data={**weak, "csrf_token": csrf_field.group(1)})
        assert r.status_code == 422
        assert "most common passwords" in r.text


def test_creating_a_user_with_a_chosen_password_is_checked_too(rt: Runtime, client: TestClient) -> None:
    """The CLI and the API create people with generated one-time passwords; a chosen one is checked."""
    from townsquare.db import transaction

    with transaction(rt.sessions) as session, pytest.raises(Invalid, match="most common"):
        service.create_user(session, username="eve", actor="test", now=rt.now(), password="password1234")
