"""The public pages as the affected person sees them: the notice's link works on the address the service
answers on, the page says how many days are left and that an appeal was already filed; the log paginates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.appeals.conftest import SCAM, action_of
from tests.appeals.test_reinstatement_api import _apply, _ban
from tests.conftest import Clock
from tests.fixtures.clients import account, post
from townsquare.runtime import Runtime
from townsquare.web import pages_public


def test_without_public_url_the_notice_links_to_the_address_the_service_answers_on(
    rt: Runtime, platform: TestClient, app: Any
) -> None:
    rt.settings.public_url = None
    author = account(platform)
    act = action_of(platform, post(platform, author, SCAM))
    with TestClient(app, base_url="http://127.0.0.1:8765", headers=dict(platform.headers)) as c:
        notice = c.get(f"/v1/actions/{act['id']}/notice").text
    link = re.search(r"(http://[^/\s]+)(/appeal/[\w.-]+)", notice)
    assert link is not None, notice
    assert link.group(1) == "http://127.0.0.1:8765"
    with TestClient(app, base_url="https://testserver") as browser:
        assert browser.get(link.group(2)).status_code == 200


def test_the_appeal_page_states_days_left_and_then_already_appealed(
    platform: TestClient, admin: TestClient, app: Any, clock: Clock
) -> None:
    author = account(platform)
    act = action_of(platform, post(platform, author, SCAM))
    notice = admin.get(f"/v1/actions/{act['id']}/notice").text
    path = re.search(r"http://testserver(/appeal/[\w.-]+)", notice).group(1)  # type: ignore[union-attr]
    clock.advance(days=10)
    with TestClient(app, base_url="https://testserver") as browser:
        page = browser.get(path)
        window = re.search(r'id="appeal-window">You can appeal for (\d+) days more', page.text)
        assert window is not None, page.text
        assert 170 <= int(window.group(1)) <= 175  # about six months less the ten days gone
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        empty = browser.post(path, data={"csrf_token": "stale", "statement": "my words stay"})
        assert empty.status_code == 403
        assert "my words stay</textarea>" in empty.text
        assert "You can appeal for" in empty.text  # the window is stated on the error page too
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', empty.text).group(1)  # type: ignore[union-attr]
        sent = browser.post(path, data={"csrf_token": csrf, "statement": "it was a quote"})
        assert sent.status_code == 201
        again = browser.get(path)
        assert 'id="already-appealed"' in again.text
        assert "<textarea" not in again.text


def test_the_public_reinstatement_log_paginates(
    platform: TestClient, admin: TestClient, app: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pages_public, "PER_PAGE", 2)
    for _ in range(3):
        acct = account(platform)
        _ban(admin, acct, "harassment_threats")
        clock.advance(days=400)
        assert _apply(platform, acct).status_code == 201
    with TestClient(app, base_url="https://testserver") as browser:
        first = browser.get("/public/reinstatements")
        assert "3 in all, page 1 of 2" in first.text
        assert first.text.split("log-count")[1].count("never reinstated") == 2
        assert 'href="/public/reinstatements?page=2"' in first.text
        second = browser.get("/public/reinstatements?page=2")
        assert second.text.split("log-count")[1].count("never reinstated") == 1
        assert 'href="/public/reinstatements?page=1"' in second.text
        bad = browser.get("/public/reinstatements?page=zero", headers={"Accept": "text/html"})
        assert bad.status_code == 422
        assert "Please check what you entered" in bad.text
