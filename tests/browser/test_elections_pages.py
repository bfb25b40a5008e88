"""In a real browser: the election mode's switches, the war room with an emerging claim added to the library
by one fact-checker, and a campaign whose bulk decision waits for a second person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.browser.pages import log_in_page
from tests.conftest import Clock
from tests.fixtures import factories as f
from tests.fixtures.staff import person
from townsquare.runtime import Runtime

STORY = (
    "US voters: Springfield county voting machines switched votes from the school levy to the stadium bond {}"
)


def _post(ingest: TestClient, text: str, **over: Any) -> None:
    author = f.account(**{k: v for k, v in over.items() if k in ("created_at",)})
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], text, **{k: v for k, v in over.items() if k == "post_created_at"})
    if "post_created_at" in over:
        body["created_at"] = body.pop("post_created_at")
    assert ingest.post("/v1/posts", json=body).status_code == 201


def test_mode_switches_show_in_the_workbench_and_the_war_room_adds_a_claim(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime, clock: Clock
) -> None:
    person(rt, "fiona", ("fact_checker",))
    clock.now = datetime(2026, 10, 20, 12, tzinfo=UTC)
    for n in (
        "overnight, 4,000 of them. Check the tapes!",
        "overnight!! 4,000 votes. check the tapes",
        "overnight, 4,000 votes. Check the tapes",
    ):
        _post(ingest, STORY.format(n))
    log_in_page(page, live_server, "fiona")
    page.goto(f"{live_server}/elections")
    assert "Election mode is on" in page.locator("#mode-banner").inner_text()
    assert "Entered election mode" in page.locator("#switches").inner_text()
    page.click("nav >> text=War room")
    assert "3 open cases" in page.locator("#queue-state").inner_text()
    form = page.locator("form.add-claim").first
    form.locator("button[type=submit]").click()  # no source yet: refused, with the reason shown
    assert "fact-check" in page.locator("#claim-error").inner_text()
    form = page.locator("form.add-claim").first
    form.locator("input[name=source]").fill("https://www.example-factcheck.org/springfield")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#proposed")
    assert "waiting for a second fact-checker" in page.locator("#proposed").inner_text()
    assert ingest.get("/v1/claims").json()["claims"][0]["state"] == "proposed"
    # The refused form answered 422 (the browser logs that); nothing else, and no CSP violation.
    assert [e for e in page.console_errors if "status of 422" not in e] == []


def test_a_campaign_is_shown_and_its_decision_requested(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "sam", ("senior_moderator",))
    t0 = datetime(2026, 3, 1, 10, tzinfo=UTC)
    for k in range(3):
        for a in range(5):
            at = (t0 + timedelta(minutes=4 * k, seconds=7 * a)).strftime("%Y-%m-%dT%H:%M:%SZ")
            _post(
                ingest,
                f"Drop boxes close early, vote tomorrow! {k}{a} https://vote-info.example/news",
                created_at=(t0 - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                post_created_at=at,
            )
    log_in_page(page, live_server, "sam")
    page.goto(f"{live_server}/review")
    page.click("nav >> text=Campaigns")
    page.click("#campaigns a")
    assert "15 posts" in page.locator("#evidence").inner_text()
    page.fill("#d-reason", "coordinated link spam")
    page.click("#decide-form button[type=submit]")
    page.wait_for_selector("#requested")
    assert "waiting for a second person" in page.locator("#requested").inner_text()
    assert page.console_errors == []
