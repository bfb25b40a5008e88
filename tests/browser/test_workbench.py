"""End to end in a real browser: log in, take a case, decide it with the keyboard, and a bulk decision."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.browser.pages import log_in_page, post_text
from tests.fixtures.staff import person
from townsquare.runtime import Runtime

THREAT = "I will kill you, just wait"
WAVE = "I will kill you and everyone like you, this is your final warning from all of us here"


def test_take_and_decide_a_case_with_the_keyboard(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    pid = post_text(ingest, THREAT)
    log_in_page(page, live_server, "maria")
    page.goto(f"{live_server}/review")
    page.click("a[href='/review/queues/threats']")
    page.click("table a[href^='/review/cases/']")
    assert page.locator("#post-text").inner_text() == THREAT
    assert page.locator("#shortcuts").is_visible()
    page.keyboard.press("t")  # take
    page.wait_for_selector("#decide-form")
    page.keyboard.press("4")  # violation: remove; focus moves to the reason
    assert page.locator("#action").input_value() == "remove"
    page.keyboard.type("credible threat of violence")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(re.compile(r".*/review/queues/threats\?decided=\d+"))
    assert "decided." in page.locator("[role=status]").inner_text()
    assert ingest.get(f"/v1/posts/{pid}").json()["status"] == "removed"
    case_id = re.search(r"decided=(\d+)", page.url).group(1)  # type: ignore[union-attr]
    page.goto(f"{live_server}/review/cases/{case_id}")
    assert page.locator("#post-status").inner_text() == "removed"
    assert page.console_errors == []


def test_blurred_text_is_revealed_by_a_click(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    post_text(ingest, THREAT)
    log_in_page(page, live_server, "maria")
    page.goto(f"{live_server}/review/queues/threats")
    page.click("table a[href^='/review/cases/']")
    text = page.locator("#post-text")
    assert "blurred" in (text.get_attribute("class") or "")
    assert "revealed" not in (text.get_attribute("class") or "")
    page.click("#toggle-blur")
    assert "revealed" in (text.get_attribute("class") or "")
    assert page.locator("#toggle-blur").get_attribute("aria-expanded") == "true"


def test_a_bulk_decision_on_a_copy_paste_wave(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "sam", ("senior_moderator",))
    pids = [post_text(ingest, f"{WAVE} #{i}") for i in range(3)]
    log_in_page(page, live_server, "sam")
    page.goto(f"{live_server}/review/bulk?contains=final+warning")
    assert page.locator("#preview-count").inner_text() == "3"
    page.select_option("#b-policy", "harassment_threats")
    page.select_option("#b-action", "remove")
    page.fill("#b-reason", "coordinated threat wave")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-confirm")
    assert all(ingest.get(f"/v1/posts/{p}").json()["status"] == "visible" for p in pids)
    page.click("#bulk-confirm-button")
    page.wait_for_selector("#bulk-result")
    assert "Decided 3 cases" in page.locator("#bulk-result").inner_text()
    assert all(ingest.get(f"/v1/posts/{p}").json()["status"] == "removed" for p in pids)
    assert page.console_errors == []
