"""The home page after login, HTML error pages for browsers and JSON for API clients, human formats."""

from __future__ import annotations

from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime
from townsquare.web import formats

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_home_after_login_shows_the_persons_work_and_no_login_link(rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        assert log_in(c, "maria").status_code == 200
        home = c.get("/", headers=HTML)
    assert home.status_code == 200
    assert "Hello, maria" in home.text
    assert 'href="/login"' not in home.text
    assert 'id="home-queues"' in home.text
    assert 'id="home-approvals"' not in home.text  # a moderator cannot decide approvals


def test_the_landing_page_without_a_session_offers_login(rt: Runtime) -> None:
    with https_client(rt) as c:
        page = c.get("/", headers=HTML)
    assert 'href="/login"' in page.text
    assert "Hello" not in page.text


def test_a_browser_gets_an_html_403_and_an_api_client_json(rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        log_in(c, "maria")
        page = c.get("/audit", headers=HTML)
        api = c.get("/audit", headers={"Accept": "application/json"})
        v1 = c.get("/v1/audit/events", headers=HTML)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "You do not have access to this" in page.text
    assert "missing permission audit:read" in page.text.lower()
    assert 'href="/login"' not in page.text  # still signed in: the nav stays
    assert api.status_code == 403
    assert api.json()["error"] == "forbidden"
    assert v1.status_code == 403
    assert v1.headers["content-type"].startswith("application/json")


def test_a_browser_gets_an_html_404_and_422(rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        log_in(c, "maria")
        missing = c.get("/review/queues/no-such-queue", headers=HTML)
        nowhere = c.get("/no/such/page", headers=HTML)
        bad = c.get("/review/cases/not-a-number", headers=HTML)
    assert missing.status_code == 404
    assert "Page not found" in missing.text
    assert "No queue no-such-queue" in missing.text
    assert nowhere.status_code == 404
    assert "Page not found" in nowhere.text
    assert bad.status_code == 422
    assert "Please check what you entered" in bad.text
    assert "case id" in bad.text


def test_a_browser_without_a_session_is_sent_to_login_and_back(rt: Runtime) -> None:
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        resp = c.get("/review?x=1", headers=HTML, follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"] == "/login?next=%2Freview%3Fx%3D1"
        form = c.get(resp.headers["location"], headers=HTML)
        assert 'name="next" value="/review?x=1"' in form.text
        api = c.get("/review", follow_redirects=False)
    assert api.status_code == 401


def test_login_never_redirects_off_site(rt: Runtime) -> None:
    from townsquare.web.pages_auth import safe_next

    assert safe_next("/review/queues/x?y=1") == "/review/queues/x?y=1"
    for bad in ("//evil.example", "https://evil.example", "/\\evil.example", "", "review"):
        assert safe_next(bad) == "/"


def test_human_formats() -> None:
    assert formats.hours(2.78e-06) == "under 1 min"
    assert formats.hours(0.05) == "3 min"
    assert formats.hours(2.5) == "2 h 30 min"
    assert formats.hours(100) == "4 days"
    assert formats.count(1_130_000) == "1.1M"
    assert formats.count(12_500) == "12.5K"
    assert formats.count(950) == "950"
    assert formats.count(2_000_000) == "2M"
    assert formats.number(2.78e-06) == "0.00"
    full = "a" * 64
    short = formats.short_hash(full)
    assert f'title="{full}"' in short
    assert ">aaaaaaaaaa…<" in short
    assert formats.short_hash("v3") == '<span class="hash">v3</span>'


def test_priority_inputs_read_as_people_read_them() -> None:
    assert formats.factor(2.78e-06, "hours_waiting") == "under 1 min"
    assert formats.factor(1_130_000, "views") == "1.1M"
    assert formats.factor(0.123456, "likelihood") == "0.12"
    assert formats.factor(3, "independent_reports") == "3"
    assert formats.factor(None, "views") == "–"


def test_versions_show_short_checksums_with_the_full_value_on_hover() -> None:
    full = "1.3+33b4aa2ce40a/1.0+9f1c2d3e4b5a"
    shown = formats.short_version(full)
    assert f'title="{full}"' in shown
    assert ">1.3+33b4aa2/1.0+9f1c2d3<" in shown
    assert formats.maybe_hash(full) == shown
    assert formats.maybe_hash("remove") == "remove"
