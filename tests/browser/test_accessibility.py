"""Every page, as the people who use it see it, through axe-core (WCAG 2.x A and AA rules): no serious or
critical violation. And the non-text contrast axe does not measure: the focus ring and the field borders."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.browser.axe import contrast, violations
from tests.browser.pages import log_in_page, post_text
from tests.fixtures import factories as f
from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime

THREAT = "I will kill you, just wait"
SCAM = "send 1 btc get 2 back"


def _world(rt: Runtime, ingest: TestClient) -> dict[str, Any]:
    """Something on every page: a case, an appeal, a council referral, an approval, a freeze, a grant."""
    person(rt, "ada", ("admin",))
    person(rt, "kim", ("moderator",))
    person(rt, "carl", ("council_member",))
    post_text(ingest, THREAT)
    scam_author = f.account()
    ingest.post("/v1/accounts", json=scam_author)
    body = f.post(scam_author["platform_id"], SCAM)
    ingest.post("/v1/posts", json=body)
    action = ingest.get(f"/v1/posts/{body['platform_id']}").json()["actions"][0]
    appeal = ingest.post(
        "/v1/appeals",
        json={
            "kind": "action",
            "action": action["puid"],
            "account": scam_author["platform_id"],
            "statement": "a quote",
        },
    ).json()
    notice = ingest.get(f"/v1/actions/{action['id']}/notice").text
    link = re.search(r"https?://[^/\s]+(/appeal/[\w.-]+)", notice).group(1)  # type: ignore[union-attr]
    ingest.post(
        "/v1/council/members", json={"username": "carl", "display_name": "Carl", "affiliation": "univ"}
    )
    referral = ingest.post(
        "/v1/council/referrals", json={"area": "hate_speech", "version": 2, "question": "Promote v2?"}
    ).json()
    with https_client(rt) as c:
        csrf = log_in(c, "ada").json()["csrf_token"]
        asked = c.post(
            "/v1/users/kim/roles", json={"role": "admin", "reason": "on call"}, headers={"X-CSRF-Token": csrf}
        )
        assert asked.status_code == 202, asked.text
        c.post(
            "/v1/freezes",
            json={"scope": "user", "target": "kim", "reason": "odd"},
            headers={"X-CSRF-Token": csrf},
        )
        c.post(
            "/v1/breakglass",
            json={"username": "carl", "role": "triage", "minutes": 30, "reason": "outage"},
            headers={"X-CSRF-Token": csrf},
        )
    case_id = ingest.get("/v1/queues/threats/cases").json()
    return {
        "author": scam_author["platform_id"],
        "post": body["platform_id"],
        "appeal": appeal["id"],
        "link": link,
        "referral": referral["id"],
        "approval": asked.json()["approval"]["id"],
        "case": (case_id[0]["id"] if isinstance(case_id, list) else case_id["cases"][0]["id"]),
    }


def _check(page: Any, url: str, found: dict[str, Any]) -> None:
    page.goto(url)
    bad = violations(page)
    if bad:
        found[url] = bad


def test_every_page_has_no_serious_accessibility_violation(
    page: Any, live_server: str, ingest: TestClient, rt: Runtime
) -> None:
    w = _world(rt, ingest)
    found: dict[str, Any] = {}
    for url in ("/", "/login", w["link"], "/public/reinstatements"):
        _check(page, live_server + url, found)
    log_in_page(page, live_server, "ada")
    pages = [
        "/",
        "/review",
        "/review/queues/threats",
        f"/review/cases/{w['case']}",
        "/review/bulk",
        "/review/search?q=kill",
        "/review/dashboard",
        "/review/appeals",
        f"/review/appeals/{w['appeal']}",
        "/council",
        "/audit",
        "/audit?actor=ada",
        "/warroom",
        "/elections",
        "/campaigns",
        "/totp",
        "/password",
        "/tokens",
        "/admin/users",
        "/admin/users/kim",
        "/admin/freezes",
        "/admin/breakglass",
        "/approvals",
        f"/approvals/{w['approval']}",
        "/brand-safety/report",
        f"/review/accounts/{w['author']}",
        f"/review/posts/{w['post']}",
        "/review/settings",
        "/review/prevalence",
        "/transparency",
        "/transparency/health",
        "/no/such/page",
    ]
    for url in pages:
        _check(page, live_server + url, found)
    page.context.clear_cookies()
    log_in_page(page, live_server, "carl")
    for url in ("/", f"/council/referrals/{w['referral']}", "/audit"):
        _check(page, live_server + url, found)
    assert found == {}, found


def test_focus_ring_and_field_borders_have_three_to_one_contrast(
    page: Any, live_server: str, rt: Runtime
) -> None:
    page.goto(f"{live_server}/login")
    field = page.locator("#username")
    background = "rgb(255, 255, 255)"  # the login form sits on the page background or white
    page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    border = field.evaluate("e => getComputedStyle(e).borderTopColor")
    assert contrast(border, background) >= 3, border
    assert contrast(border, page_bg) >= 3, (border, page_bg)
    for selector in ("#username", "button[type=submit]", "a.brand"):
        page.focus(selector)
        style = page.locator(selector).evaluate(
            "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
        )
        assert style[0] != "none", selector
        assert float(style[1].removesuffix("px")) >= 2, style
        assert contrast(style[2], page_bg) >= 3, (selector, style)
        assert contrast(style[2], background) >= 3, (selector, style)


def test_the_check_finds_a_violation_when_there_is_one(page: Any, live_server: str) -> None:
    """axe really runs in these pages: a form field without a label and low-contrast text are caught."""
    page.goto(f"{live_server}/login")
    assert violations(page) == []
    page.evaluate(
        """() => {
        const input = document.createElement('input');
        document.querySelector('main').appendChild(input);
        const p = document.createElement('p');
        p.textContent = 'faint';
        p.setAttribute('class', 'hint');
        p.style.color = '#dddddd';
        document.querySelector('main').appendChild(p);
    }"""
    )
    found = {v["id"] for v in violations(page)}
    assert {"label", "color-contrast"} <= found
