"""In a real browser, as people do it: an admin manages people and a second admin approves; freezes and
break-glass; one's own tokens; a council member's narrow view; the home page, error pages and number
formats; the public appeal page and log; the audit page's filters, links and background verification."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.browser.pages import log_in_page, post_text
from tests.browser.test_accessibility import THREAT
from tests.fixtures import audit_events as ae
from tests.fixtures import factories as f
from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime
from townsquare.web import pages_public


def _script_errors(page: Any) -> list[str]:
    """Console errors other than the 4xx answers the tests provoke (CSP violations would show here)."""
    return [e for e in page.console_errors if not e.startswith("Failed to load resource")]


@pytest.fixture
def second(browser: Any) -> Iterator[Any]:
    """A second person's browser (its own cookies)."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_an_admin_adds_a_person_and_a_second_admin_approves_making_them_admin(
    page: Any, second: Any, live_server: str, rt: Runtime
) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "bob", ("admin",))
    log_in_page(page, live_server, "ada")
    page.click("nav a[href='/admin/users']")
    page.fill("#username", "kim lee")
    page.fill("#display_name", "Kim Lee")
    page.click("#create-user")
    assert "username" in page.locator("#form-error").inner_text()
    assert page.locator("#username").input_value() == "kim lee"  # kept as entered
    assert page.locator("#display_name").input_value() == "Kim Lee"
    page.fill("#username", "kim")
    page.click("#create-user")
    assert len(page.locator("#one-time-password").inner_text()) >= 8
    page.click("a[href='/admin/users/kim']")
    page.select_option("#role", "admin")
    page.click("#grant")  # no reason: refused, the role stays chosen
    assert page.locator("#role").input_value() == "admin"
    page.fill("#grant-reason", "second on-call admin")
    page.click("#grant")
    waiting = page.locator("#done").inner_text()
    approval_id = re.search(r"approval #(\d+)", waiting).group(1)  # type: ignore[union-attr]
    page.goto(f"{live_server}/approvals/{approval_id}")
    assert page.locator("#withdraw").is_visible()
    assert page.locator("#approve").count() == 0  # never one's own
    log_in_page(second, live_server, "bob")
    second.click(f"#home-approvals a[href='/approvals/{approval_id}']")
    second.fill("#reason", "confirmed with ada by phone")
    second.click("#approve")
    assert "approved and carried out" in second.locator("#done").inner_text()
    second.goto(f"{live_server}/admin/users/kim")
    assert "admin" in second.locator("#grants").inner_text()
    assert _script_errors(page) == []


def test_an_admin_freezes_and_lifts_and_grants_break_glass(page: Any, live_server: str, rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "kim", ("moderator",))
    log_in_page(page, live_server, "ada")
    page.click("nav a[href='/admin/freezes']")
    page.fill("#target", "kim")
    page.fill("#freeze-reason", "odd logins at night")
    page.fill("#hours", "a while")
    page.click("#freeze")
    assert "hours" in page.locator("#form-error").inner_text()
    assert page.locator("#freeze-reason").input_value() == "odd logins at night"
    page.fill("#hours", "4")
    page.click("#freeze")
    assert "is in force" in page.locator("#done").inner_text()
    lift = page.locator("button[id^='lift-']").first
    lift_id = (lift.get_attribute("id") or "").removeprefix("lift-")
    page.fill(f"#lift-reason-{lift_id}", "cleared by security")
    lift.click()
    assert f"Freeze #{lift_id} lifted." in page.locator("#done").inner_text()
    page.goto(f"{live_server}/admin/breakglass")
    page.fill("#username", "kim")
    page.select_option("#role", "moderator")
    page.fill("#minutes", "30")
    page.fill("#reason", "appeals backlog during the outage")
    page.click("#grant")
    assert "already holds moderator" in page.locator("#form-error").inner_text()
    assert page.locator("#reason").input_value() == "appeals backlog during the outage"
    page.select_option("#role", "triage")
    page.click("#grant")
    assert "auditors were alerted" in page.locator("#done").inner_text()
    assert "in force" in page.locator("#grants").inner_text()


def test_a_person_makes_a_token_sees_it_once_and_revokes_it(page: Any, live_server: str, rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    log_in_page(page, live_server, "maria")
    page.click("nav a[href='/tokens']")
    page.fill("#name", "my script")
    page.check("input[name=scopes][value='posts:read']")
    page.fill("#days", "7")
    page.click("#create-token")
    assert page.locator("#new-token").inner_text().startswith("ts_")
    page.goto(f"{live_server}/tokens")
    assert page.locator("#new-token").count() == 0  # shown once
    page.click("button[id^='revoke-']")
    assert "revoked" in page.locator("#done").inner_text()


def test_a_council_member_sees_packets_but_cannot_search(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "carl", ("council_member",))
    ingest.post(
        "/v1/council/members", json={"username": "carl", "display_name": "Carl", "affiliation": "univ"}
    )
    rid = ingest.post(
        "/v1/council/referrals", json={"area": "hate_speech", "version": 2, "question": "Promote v2?"}
    ).json()["id"]
    log_in_page(page, live_server, "carl")
    assert page.locator("nav a[href='/review/search']").count() == 0
    page.goto(f"{live_server}/review/search?q=kill")
    assert page.locator("h1").inner_text() == "You do not have access to this"
    assert page.locator("nav a[href='/login']").count() == 0  # still signed in, the nav stays
    page.goto(f"{live_server}/")
    page.click("#home-council a")
    page.click(f"a[href='/council/referrals/{rid}']")
    assert "The proposed policy: hate speech, version 2" in page.locator("#packet").inner_text()


def test_home_errors_and_formats_as_a_moderator(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    person(rt, "maria", ("moderator",))
    post_text(ingest, THREAT)
    page.goto(f"{live_server}/review/queues/threats")  # not signed in: to the login, then back here
    page.wait_for_url(re.compile(r".*/login\?next="))
    page.fill("#username", "maria")
    page.fill("#password", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/review/queues/threats$"))
    page.goto(f"{live_server}/")
    assert page.locator("h1").inner_text() == "Hello, maria"
    assert page.locator("a[href='/login']").count() == 0
    assert page.locator("#home-queues a[href='/review/queues/threats']").is_visible()
    page.click("#home-queues a[href='/review/queues/threats']")
    page.click("table a[href^='/review/cases/']")
    body = page.locator("main").inner_text()
    assert not re.search(r"\de-\d", body)  # no scientific notation anywhere on the case
    assert "under 1 min" in body or " min" in body
    assert "hours waiting" in body
    page.goto(f"{live_server}/audit")
    assert page.locator("h1").inner_text() == "You do not have access to this"
    page.goto(f"{live_server}/no/such/page")
    assert page.locator("h1").inner_text() == "Page not found"
    assert _script_errors(page) == []


def test_the_appeal_link_works_on_the_served_address_and_remembers_the_appeal(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt.settings.public_url = None
    author = f.account()
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], "send 1 btc get 2 back")
    ingest.post("/v1/posts", json=body)
    action = ingest.get(f"/v1/posts/{body['platform_id']}").json()["actions"][0]
    with TestClient(ingest.app, base_url=live_server, headers=dict(ingest.headers)) as served:
        notice = served.get(f"/v1/actions/{action['id']}/notice").text
    link = re.search(r"(http://\S+/appeal/[\w.-]+)", notice).group(1)  # type: ignore[union-attr]
    assert link.startswith(live_server)
    page.goto(link)
    assert re.search(
        r"You can appeal for \d+ days more, until \d{4}-\d\d-\d\d",
        page.locator("#appeal-window").inner_text(),
    )
    page.fill("#statement", "I was quoting a scam to warn my friends")
    page.click("button[type=submit]")
    assert "We received your appeal" in page.locator("#appeal-done").inner_text()
    page.goto(link)
    assert "You already appealed this decision" in page.locator("#already-appealed").inner_text()
    assert page.locator("#statement").count() == 0
    monkeypatch.setattr(pages_public, "PER_PAGE", 1)
    page.goto(f"{live_server}/public/reinstatements")
    assert page.locator("#log-count").is_visible()


def test_the_audit_page_as_an_auditor(page: Any, live_server: str, rt: Runtime) -> None:
    person(rt, "ada", ("admin",))
    person(rt, "kim", ())
    person(rt, "aud", ("auditor",))
    with https_client(rt) as c:
        csrf = log_in(c, "ada").json()["csrf_token"]
        c.post("/v1/users/kim/disable", json={"reason": "left the team"}, headers={"X-CSRF-Token": csrf})
    ae.record(
        rt, "model.loaded", "service:townsquare", ("modelset", "fast"), payload={"hate": "1.3+33b4aa2ce40a"}
    )
    log_in_page(page, live_server, "aud")
    page.click("nav a[href='/audit']")
    version = page.locator("td.payload span.hash[title='1.3+33b4aa2ce40a']")
    assert version.inner_text() == "1.3+33b4aa2"  # short, the full value on hover
    page.fill("#filter-actor", "ada")
    page.click("form[role=search] button[type=submit]")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1
    assert "user.disabled" in page.locator("main").inner_text()
    assert page.locator("td.payload dt", has_text="tokens revoked").count() >= 1
    page.click("a.subject-link[href='/admin/users/kim']")
    assert page.locator("h1").inner_text().startswith("kim")
    page.goto(f"{live_server}/audit")
    page.click("#chain-status a")
    page.wait_for_selector("#chain-status strong.ok", timeout=30_000)
    assert "OK" in page.locator("#chain-status").inner_text()
    assert _script_errors(page) == []
