"""The advertiser report page in a real browser: figures, the server-drawn chart, no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.brandsafety.conftest import World, make_world
from tests.browser.pages import log_in_page
from tests.conftest import Clock
from tests.fixtures.staff import person
from townsquare.runtime import Runtime


@pytest.fixture
def world(rt: Runtime) -> Iterator[World]:
    """Advertisers, the ad server and posts (tests/brandsafety/conftest.py)."""
    with make_world(rt) as w:
        yield w


def test_an_advertiser_reads_its_report_with_a_chart(
    page: Any, live_server: str, world: World, rt: Runtime, clock: Clock
) -> None:
    person(rt, "carol", ("advertiser",))
    assert (
        world.boss.post("/v1/brand-safety/advertisers/acme/members", json={"username": "carol"}).status_code
        == 201
    )
    batch = [
        {
            "id": f"i{n}",
            "ad": "ad-1",
            "advertiser": "acme",
            "post": world.posts[p],
            "served_at": "2026-03-02T11:30:00Z",
        }
        for n, p in enumerate(["safe", "party", "hate", "safe"])
    ]
    assert world.ads.post("/v1/brand-safety/impressions", json={"impressions": batch}).status_code == 201
    log_in_page(page, live_server, "carol")
    page.goto(f"{live_server}/brand-safety/report")
    assert page.locator("nav a[href='/brand-safety/report']").count() == 1
    page.fill("#since", "2026-03-01")
    page.fill("#until", "2026-03-04")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#chart")
    assert page.locator("#served-impressions").inner_text() == "4"
    assert page.locator("#served-rate").inner_text() == "75.00%"
    assert page.locator("#chart rect.bar").count() >= 4  # drinks and hate, served and now
    assert "Hate Speech" in page.locator("#table-served").inner_text()
    assert page.locator("select#advertiser option").all_inner_texts() == ["Acme (acme)"]
    href = page.locator("#export-link").get_attribute("href")
    assert href.startswith("/v1/brand-safety/reports/acme/export")
    export = page.request.get(f"{live_server}{href}")  # with the page's session cookie
    assert export.status == 200
    assert export.text().startswith("impression,ad,advertiser,post,served_at")
    assert export.text().count("\n") == 5  # the header and four impressions
    assert page.console_errors == []  # no CSP violation: the chart is SVG drawn by the server
    resp = page.goto(f"{live_server}/brand-safety/report?advertiser=globex")
    assert resp.status == 404
    assert "no advertiser globex" in page.locator("#error").inner_text()
