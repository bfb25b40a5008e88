"""In a real browser: an operator sees the dead-lettered messages with their errors and retries one."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.staff import PASSWORD, person
from tests.stream.conftest import redis_server, stream_settings  # noqa: F401  (the session's Redis)
from tests.stream.test_worker import drain
from townsquare.config import Settings
from townsquare.runtime import Runtime
from townsquare.stream import service
from townsquare.stream.worker import Worker


@pytest.fixture
def settings(settings: Settings, redis_server: Any) -> Settings:  # noqa: F811
    """This module's app streams through the test Redis."""
    return stream_settings(settings, redis_server.url)


def test_an_operator_retries_a_dead_letter_from_the_workbench(
    page: Any, live_server: str, rt: Runtime
) -> None:
    person(rt, "olga", ("operator",))
    orphan = {
        "platform_id": "orphan-1",
        "author": "nobody",
        "text": "hi",
        "created_at": "2026-03-02T11:00:00Z",
    }
    service.enqueue(rt, [("post", orphan)], "test:platform")
    drain(Worker(rt, name="w1"))

    page.goto(f"{live_server}/login")
    page.fill("#username", "olga")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(f"{live_server}/stream/dead")
    assert page.locator("nav a[href='/stream/dead']").inner_text() == "Dead letters"
    row = page.locator("#dead tbody tr").first
    assert "unknown author nobody" in row.inner_text()
    assert "orphan-1" in row.inner_text()

    row.locator("button", has_text="Retry").click()
    page.wait_for_url(re.compile(r".*/stream/dead\?retried=.*"))
    assert "Retried as" in page.locator("[role=status]").inner_text()
    assert "No dead-lettered message." in page.locator("#dead").inner_text()
    assert page.console_errors == []
