"""In a real browser: setting up TOTP asks for the password again, shows the key once, and turns it on."""

from __future__ import annotations

import re
from typing import Any

import pyotp

from tests.fixtures.staff import PASSWORD, person
from townsquare.runtime import Runtime


def test_totp_is_set_up_through_the_page_after_the_password(page: Any, live_server: str, rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    page.goto(f"{live_server}/login")
    page.fill("#username", "maria")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{live_server}/review")
    page.click("a[href='/totp']")  # in every page's navigation
    assert page.locator("#totp-secret").count() == 0
    page.fill("#password", "not my password")
    page.click("form[action='/totp'] button[type=submit]")
    assert "the password is wrong" in page.locator("#totp-error").inner_text()
    assert page.locator("#totp-secret").count() == 0
    page.fill("#password", PASSWORD)
    page.click("form[action='/totp'] button[type=submit]")
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#code", pyotp.TOTP(secret).at(rt.now()))
    page.click("form[action='/totp/confirm'] button[type=submit]")
    page.wait_for_selector("#totp-on")
    # The wrong password's page is a 403, which Chromium logs; nothing else (no CSP violation) may be.
    assert [e for e in page.console_errors if "status of 403" not in e] == []
