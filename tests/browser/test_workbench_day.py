"""A moderator's day in a real browser: forms that keep what was typed, undo, the next case, queue
control with the keyboard, handoffs with history and account pages, and wellbeing protection."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.browser.pages import log_in_page
from tests.fixtures import factories as f
from tests.fixtures.staff import person
from townsquare.content.models import Account
from townsquare.db import transaction
from townsquare.review.models import Case
from townsquare.review.seed import seed_cases
from townsquare.runtime import Runtime

THREAT = "I will kill you, just wait"
WAVE = "I will kill you and everyone like you, this is your final warning from all of us here"


def _post(ingest: TestClient, text: str, **account: Any) -> tuple[str, str]:
    author = f.account(**account)
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], text)
    assert ingest.post("/v1/posts", json=body).status_code == 201
    return str(body["platform_id"]), str(author["platform_id"])


def _unexpected(errors: list[str]) -> list[str]:
    """Console errors other than the 422 answers to forms this test sends wrong on purpose."""
    return [e for e in errors if "status of 422" not in e]


def _open_first_case(page: Any, base: str, queue: str = "threats") -> str:
    page.goto(f"{base}/review/queues/{queue}")
    page.click("#case-list a[href^='/review/cases/']")
    page.wait_for_selector("#subject-heading")
    return str(re.search(r"/review/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]


def test_a_suspension_without_days_keeps_suspend_and_the_reason(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    pid, _ = _post(ingest, THREAT)
    log_in_page(page, live_server, "maria")
    _open_first_case(page, live_server)
    page.keyboard.press("t")
    page.wait_for_selector("#decide-form")
    page.keyboard.press("5")  # violation: suspend; focus moves to the reason
    page.keyboard.type("threatens a named person")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#form-error")
    assert "suspension needs its number of days" in page.locator("#form-error").inner_text()
    assert page.locator("#action").input_value() == "suspend"
    assert page.locator("#reason").input_value() == "threatens a named person"
    assert page.locator("#outcome-violation").is_checked()
    assert page.locator("#duration_days").get_attribute("aria-invalid") == "true"
    assert ingest.get(f"/v1/posts/{pid}").json()["status"] == "visible"
    page.fill("#duration_days", "7")
    page.click("#decide")
    page.wait_for_url(re.compile(r".*/review/queues/threats\?decided=\d+&empty=1"))
    assert "decided" in page.locator("[role=status]").first.inner_text()
    assert _unexpected(page.console_errors) == []


def test_n_waits_for_undo_then_opens_the_next_case(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    _post(ingest, THREAT)
    _post(ingest, "I will kill you tomorrow, watch out")
    log_in_page(page, live_server, "maria")
    first = _open_first_case(page, live_server)
    page.keyboard.press("t")
    page.wait_for_selector("#decide-form")
    page.keyboard.press("n")
    assert page.locator("#undo-bar").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#undo-bar").is_hidden()
    assert "Undone" in page.locator("#undo-status").inner_text()
    page.wait_for_timeout(5500)
    assert page.url.endswith(f"/review/cases/{first}")  # nothing was submitted
    assert page.locator("#outcome-violation").is_checked()
    page.keyboard.press("n")
    page.wait_for_url(re.compile(rf".*/review/cases/\d+\?done={first}"), timeout=10_000)
    assert f"Case #{first} decided: no violation" in page.locator("#done").inner_text()
    assert not page.url.split("?")[0].endswith(f"/{first}")
    assert page.locator("#decide-form").is_visible()  # the next case, taken
    assert _unexpected(page.console_errors) == []


def test_queue_filters_pages_keyboard_and_take_next(page: Any, live_server: str, rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        seed_cases(session, rt, 120, protected_every=4)
        # the protected cases rank first, so "take next" must skip them for a moderator
        session.execute(
            update(Case)
            .where(Case.account_id.in_(select(Account.id).where(Account.protected.is_(True))))
            .values(priority=Case.priority + 1000)
        )
    person(rt, "maria", ("moderator",))
    log_in_page(page, live_server, "maria")
    page.goto(f"{live_server}/review/queues/threats")
    assert page.locator("#total").inner_text() == "120"
    page.click("#next-page")
    page.wait_for_url(re.compile(r".*page=2"))
    assert "Showing 51–100 of" in page.locator("#queue-total").inner_text()
    page.select_option("#qf-protected", "only")
    page.select_option("#qf-sort", "age")
    page.click("#apply-filter")
    page.wait_for_url(re.compile(r".*protected=only"))
    assert page.locator("#total").inner_text() == "30"
    assert page.locator("#case-list .flag.protected").count() == 30
    page.locator("body").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    current = page.locator("#case-list tr.current")
    assert current.count() == 1
    target = current.get_attribute("data-href")
    assert target == page.locator("#case-list tbody tr").nth(0).get_attribute("data-href")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*{target}$"))
    # take next over a queue whose protected cases come first: it says what it skipped and why
    page.goto(f"{live_server}/review/queues/threats?protected=&sort=priority")
    page.click("#take-next")
    page.wait_for_selector("#decide-form")
    skipped = page.locator("#skipped").inner_text()
    assert "you cannot take" in skipped
    assert "protected subject" in skipped
    assert _unexpected(page.console_errors) == []


def test_handoffs_notes_escalation_reason_and_account_page(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    person(rt, "sam", ("senior_moderator",))
    _, account = _post(ingest, THREAT, handle="rowan_b")
    log_in_page(page, live_server, "maria")
    case = _open_first_case(page, live_server)
    page.fill("#note-body", "second threat from this author this week")
    page.click("#add-note")
    page.wait_for_selector("#timeline-list li[data-kind='note']")
    page.keyboard.press("e")
    page.keyboard.type("names a real school")
    page.keyboard.press("Enter")
    page.wait_for_selector("#escalation-reason")
    page.context.clear_cookies()
    log_in_page(page, live_server, "sam")
    page.goto(f"{live_server}/review/cases/{case}")
    assert "names a real school" in page.locator("#escalation-reason").inner_text()
    history = page.locator("#timeline-list").inner_text()
    assert "second threat from this author this week" in history
    assert "escalated" in history
    page.click(f"#subject-heading + p a[href='/review/accounts/{account}']")
    page.wait_for_url(re.compile(rf".*/review/accounts/{account}"))
    assert page.locator("h1").inner_text().startswith("@rowan_b")
    assert page.locator("#account-posts tbody tr").count() == 1
    page.click("#account-posts a[href^='/review/posts/']")
    page.wait_for_selector("#post-body")
    assert page.locator("#post-status").inner_text() == "visible"
    assert _unexpected(page.console_errors) == []


def test_search_results_open_html_pages(page: Any, live_server: str, ingest: TestClient, rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    pid, account = _post(ingest, THREAT, handle="kit_m")
    log_in_page(page, live_server, "maria")
    page.goto(f"{live_server}/review/search?q=kill+you")
    assert page.locator("#post-results .harmful.blurred").count() == 1
    page.locator("body").focus()
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf".*/review/posts/{pid}$"))
    assert "<html" in page.content()
    page.goto(f"{live_server}/review/search?q=kit_m&kind=accounts")
    page.click(f"a[href='/review/accounts/{account}']")
    page.wait_for_url(re.compile(rf".*/review/accounts/{account}$"))


def test_blur_grayscale_and_break_reminder(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    for i in range(3):
        _post(ingest, f"I will kill you, just wait #{i}")
    log_in_page(page, live_server, "maria")
    page.goto(f"{live_server}/review/queues/threats")
    excerpt = page.locator("#case-list .harmful").first
    assert "blur" in excerpt.evaluate("e => getComputedStyle(e).filter")
    excerpt.click()
    assert excerpt.evaluate("e => getComputedStyle(e).filter") == "none"
    page.goto(f"{live_server}/review/settings")
    page.check("#grayscale")
    page.fill("#break_after", "2")
    page.click("#save-settings")
    page.wait_for_selector("#saved")
    assert page.locator("#grayscale").is_checked()
    page.goto(f"{live_server}/review/queues/threats")
    assert "grayscale" in page.locator("#case-list .harmful").first.evaluate(
        "e => getComputedStyle(e).filter"
    )
    for _ in range(2):
        page.goto(f"{live_server}/review/queues/threats")
        page.click("#take-next")
        page.wait_for_selector("#decide-form")
        page.fill("#reason", "credible threat")
        page.click("#decide")
        page.wait_for_load_state()
    page.goto(f"{live_server}/review/queues/threats")
    assert "2 severe cases in a row" in page.locator("#break-reminder").inner_text()
    assert _unexpected(page.console_errors) == []


def test_bulk_preview_authors_group_policy_and_confirm(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "sam", ("senior_moderator",))
    pids = [_post(ingest, f"{WAVE} #{i}", handle=f"waver{i}")[0] for i in range(3)]
    log_in_page(page, live_server, "sam")
    page.goto(f"{live_server}/review/bulk?contains=final+warning")
    assert page.locator("#b-policy").input_value() == "harassment_threats"
    authors = page.locator("#preview-authors").inner_text()
    assert all(f"@waver{i}" in authors for i in range(3))
    page.select_option("#b-action", "reduce_reach")
    page.click("#bulk-submit")  # no reason
    page.wait_for_selector("#bulk-error")
    assert page.locator("#b-action").input_value() == "reduce_reach"
    page.fill("#b-reason", "coordinated threat wave")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-confirm")
    assert "3" in page.locator("#confirm-summary").inner_text()
    page.click("#bulk-change")
    page.wait_for_selector("#bulk-submit")
    assert page.locator("#b-reason").input_value() == "coordinated threat wave"
    page.select_option("#b-action", "remove")
    page.click("#bulk-submit")
    page.click("#bulk-confirm-button")
    page.wait_for_selector("#bulk-result")
    assert "Decided 3 cases: remove" in page.locator("#bulk-result").inner_text()
    assert all(ingest.get(f"/v1/posts/{p}").json()["status"] == "removed" for p in pids)
    assert _unexpected(page.console_errors) == []
