from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.browser.test_workbench_day import THREAT, WAVE, _log_in, _post, ingest  # noqa: F401
from tests.fixtures.staff import person
from townsquare.db import transaction
from townsquare.review.seed import seed_cases
from townsquare.runtime import Runtime

OUT = "/tmp/i13-review/shots"


def test_shots(page: Any, live_server: str, ingest: TestClient, rt: Runtime) -> None:  # noqa: F811
    import os

    os.makedirs(OUT, exist_ok=True)
    with transaction(rt.sessions) as session:
        seed_cases(session, rt, 60, protected_every=5)
    person(rt, "sam", ("senior_moderator",))
    pid, acct = _post(ingest, THREAT, handle="rowan_b")
    for i in range(3):
        _post(ingest, f"{WAVE} #{i}", handle=f"waver{i}")
    page.set_viewport_size({"width": 1300, "height": 1000})
    _log_in(page, live_server, "sam")
    page.goto(f"{live_server}/review/queues/threats?sort=priority")
    page.locator("body").focus()
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.screenshot(path=f"{OUT}/queue.png", full_page=True)
    page.goto(f"{live_server}/review/queues/threats?min_reports=x")
    page.screenshot(path=f"{OUT}/queue-error.png")
    page.goto(f"{live_server}/review/search?q=kill+you")
    page.click("#post-results a[href^='/review/posts/']")
    page.wait_for_selector("#post-body")
    case_link = page.locator("#post-cases a").first.get_attribute("href")
    page.goto(f"{live_server}{case_link}")
    page.fill("#note-body", "second threat this week")
    page.click("#add-note")
    page.wait_for_selector("#timeline-list li[data-kind='note']")
    page.keyboard.press("t")
    page.wait_for_selector("#decide-form")
    page.keyboard.press("5")
    page.keyboard.type("threatens a named person")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#form-error")
    page.screenshot(path=f"{OUT}/case-error.png", full_page=True)
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("n")
    page.screenshot(path=f"{OUT}/case-undo.png")
    page.keyboard.press("Escape")
    page.goto(f"{live_server}/review/accounts/{acct}")
    page.screenshot(path=f"{OUT}/account.png", full_page=True)
    page.goto(f"{live_server}/review/bulk?contains=final+warning")
    page.fill("#b-reason", "coordinated wave")
    page.click("#bulk-submit")
    page.wait_for_selector("#bulk-confirm")
    page.screenshot(path=f"{OUT}/bulk-confirm.png", full_page=True)
    page.goto(f"{live_server}/review/settings")
    page.screenshot(path=f"{OUT}/settings.png", full_page=True)
    page.goto(f"{live_server}/review/queues/threats")
    page.click("#take-next")
    page.wait_for_selector("#decide-form")
    page.screenshot(path=f"{OUT}/take-next.png")
    assert re.search(r"/review/cases/\d+", page.url)
