# ruff: noqa: F811  (the transparency fixtures are imported by name, and pytest passes them as arguments)
"""Transparency pages in a real browser: the public report list and page with its SVG charts and CSVs,
the platform-health page, and the prevalence labelling queue; no CSP violation anywhere."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from tests.browser.conftest import _free_port
from tests.browser.pages import log_in_page
from tests.conftest import Clock
from tests.fixtures.staff import person
from tests.transparency.conftest import (  # noqa: F401  (fixtures)
    SCAM,
    Staff,
    account,
    app,
    platform,
    post,
    scenario,
    staff,
    trt,
)
from townsquare.runtime import Runtime


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    """The transparency test app (every automated action QA-sampled) served on a loopback port."""
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


def test_anyone_reads_a_published_report_with_charts_and_csvs(
    page: Any, server: str, scenario: dict[str, Any], staff: Staff
) -> None:
    auditor, publisher = staff("aud", ["auditor"]), staff("pub", ["policy_publisher"])
    body = {"from": "2026-03-01", "to": "2026-03-05", "reason": "q1"}
    approval = auditor.post("/v1/reports/transparency/publish", json=body).json()["approval"]["id"]
    assert publisher.post(f"/v1/approvals/{approval}/approve", json={"reason": "ok"}).status_code == 200
    page.goto(f"{server}/transparency")
    page.click("#reports a")
    page.wait_for_selector("#chart-1")
    assert page.locator("#notices-received").inner_text() == "2"
    assert page.locator("svg rect.bar").count() >= 4
    assert page.locator("#files a").count() == 12
    with page.expect_download() as dl:
        page.click("#files a[href$='Part_4_notices.csv']")
    assert dl.value.suggested_filename.endswith(".csv") or dl.value.url.endswith("Part_4_notices.csv")
    assert page.locator("#civil-told").inner_text() == "1 of 2"
    assert page.console_errors == []


def test_the_health_page_draws_trends_and_explains_a_bad_range(
    page: Any, server: str, scenario: dict[str, Any], trt: Runtime
) -> None:
    person(trt, "carol", ("auditor",))
    log_in_page(page, server, "carol")
    page.goto(f"{server}/transparency/health")
    page.fill("#from", "2026-03-01")
    page.fill("#to", "2026-03-04")
    page.click("form.filters button[type=submit]")
    page.wait_for_selector("#trend-1")
    assert page.locator("svg polyline").count() >= 3
    assert page.locator("#days tbody tr").count() == 4
    page.goto(f"{server}/transparency/health?from=2026-03-04&to=2026-03-01")
    assert "inverted" in page.locator("#error").inner_text()
    assert page.console_errors == [] or all("422" in e or "400" in e for e in page.console_errors)


def test_a_moderator_labels_the_prevalence_sample(
    page: Any, server: str, platform: TestClient, staff: Staff, trt: Runtime, clock: Clock
) -> None:
    author = account(platform)
    pid = post(platform, author, SCAM)
    items = [{"post": pid, "views": 5, "observed_at": "2026-03-01T10:00:00Z"},
             {"post": pid, "views": 50, "observed_at": "2026-03-02T10:00:00Z"}]  # fmt: skip
    assert platform.post("/v1/posts/metrics", json={"items": items}).status_code == 200
    clock.advance(days=2)
    assert (
        staff("aud", ["auditor"])
        .post("/v1/prevalence/samples", json={"day": "2026-03-02", "draws": 3})
        .status_code
        == 201
    )
    person(trt, "dave", ("moderator",))
    log_in_page(page, server, "dave")
    page.goto(f"{server}/review/prevalence")
    assert page.locator("li.sample").count() == 1
    assert SCAM in page.locator("li.sample blockquote").inner_text()
    page.select_option("li.sample select", "scams_fraud")
    page.click("li.sample button[type=submit]")
    page.wait_for_selector("#empty")
    assert page.console_errors == []
