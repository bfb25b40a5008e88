"""The audit view through a logged-in auditor's session: content, accessibility basics, no inline script."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.fixtures import audit_events as ae
from townsquare.app import create_app
from townsquare.runtime import Runtime
from townsquare.web.verify_job import job_for


@pytest.fixture
def auditor(rt: Runtime) -> Iterator[TestClient]:
    """A browser-like client holding an auditor's session cookie."""
    seed_user(rt, "aud", ["auditor"])
    cookie = ae.login_session(rt, "aud")
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, base_url="https://testserver", cookies={"ts_session": cookie}) as c:
        yield c


class _Tags(HTMLParser):
    """Collects start tags with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def _seed(rt: Runtime) -> None:
    for n in range(4):
        ae.actions(rt, f"user:peer{n}", 5)
    ae.actions(rt, "user:busy", 60)
    ae.actions(rt, "user:peer0", 1, subject=("account", "acct-official"), protected=True)


def test_the_page_renders_for_an_auditor(auditor: TestClient, rt: Runtime) -> None:
    _seed(rt)
    assert auditor.post("/v1/audit/checkpoint").status_code == 403  # a session POST needs the CSRF header
    started = auditor.get("/audit", params={"verify": "1"})
    assert started.status_code == 200, started.text
    job_for(rt).wait(30)  # verification runs in the background; the page shows the result once done
    resp = auditor.get("/audit")
    html = resp.text
    assert "<h1>Audit</h1>" in html
    assert "aud (auditor)" in html
    assert re.search(r"Status: <strong class=\"ok\">OK</strong>", html)
    assert "Latest signed checkpoint" in html
    assert 'href="#main"' in html  # skip link
    tags = _tags(html)
    inputs = [a for t, a in tags if t == "input" and a.get("type") != "hidden"]
    labelled = {a.get("for") for t, a in tags if t == "label"}
    assert len(inputs) == 6
    assert all(a["id"] in labelled for a in inputs)
    assert all(a.get("scope") in ("col", "row") for t, a in tags if t == "th")
    rows = [r.split("</tr>")[0] for r in html.split("<tr>") if "acct-official" in r]
    assert len(rows) == 1
    assert '<span class="flag">protected</span>' in rows[0]
    links = [a.get("href") or "" for t, a in tags if t == "a"]
    assert "/v1/audit/export?format=csv" in links
    assert "/v1/audit/export?format=json" in links
    assert any(h.startswith("/audit?cursor=") for h in links)  # 65 events: a second page


def test_the_page_keeps_filters_in_pages_and_exports(auditor: TestClient, rt: Runtime) -> None:
    _seed(rt)
    first = auditor.get("/audit", params={"actor": "user:busy", "type": "action.*"})
    links = [a.get("href") or "" for t, a in _tags(first.text) if t == "a"]
    nxt = next(h for h in links if "cursor=" in h)
    assert "actor=user%3Abusy" in nxt
    assert "type=action.%2A" in nxt
    assert "/v1/audit/export?actor=user%3Abusy&type=action.%2A&format=csv" in links
    second = auditor.get(nxt)
    assert second.status_code == 200
    assert second.text.count('<th scope="row">') == 10  # 60 events, 50 a page
    assert "Newest events" in second.text


def test_the_page_shows_open_insider_risk_alerts(auditor: TestClient, rt: Runtime) -> None:
    _seed(rt)
    token = seed_user(rt, "aud2", ["auditor"])
    assert auditor.post("/v1/audit/insider", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    html = auditor.get("/audit").text
    section = html.split('id="alerts-heading"')[1].split("</section>")[0]
    assert "user:busy" in section
    assert '<span class="flag">volume</span>' in section
    assert '<span class="flag">insider_risk</span>' in html


def test_an_invalid_filter_is_shown_on_the_page_naming_the_field(auditor: TestClient) -> None:
    resp = auditor.get("/audit", params={"since": "last tuesday"})
    assert resp.status_code == 422
    assert 'role="alert"' in resp.text
    assert "since must be an ISO 8601 time" in resp.text
    since = next(a for t, a in _tags(resp.text) if t == "input" and a.get("name") == "since")
    assert since.get("aria-invalid") == "true"
    assert since.get("value") == "last tuesday"


def test_the_page_has_no_inline_script_or_style(auditor: TestClient, rt: Runtime) -> None:
    _seed(rt)
    ae.record(rt, "note.added", "user:x", reason='<script>alert(1)</script> onload="x" style="y"')
    for params in ({}, {"verify": "1"}, {"since": "nonsense"}):
        html = auditor.get("/audit", params=params).text
        for tag, attrs in _tags(html):
            assert not (tag == "script" and not attrs.get("src")), "inline script"
            assert not any(name.startswith("on") for name in attrs), f"event handler on <{tag}>"
            assert "style" not in attrs, f"inline style on <{tag}>"
            assert tag != "style", "inline stylesheet"
        assert "<script>alert(1)" not in html  # user text is escaped
