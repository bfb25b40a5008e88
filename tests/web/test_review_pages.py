"""The workbench pages through a moderator's session: queues, a case, deciding with a form, escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.fixtures import factories as f
from tests.fixtures.staff import https_client, log_in, person
from townsquare.runtime import Runtime

THREAT = "I will kill you, just wait"
HOSTILE = '<script>alert("x")</script> I will kill you <b>now</b>'


@pytest.fixture
def moderator(rt: Runtime) -> Iterator[tuple[TestClient, str]]:
    """A logged-in moderator's browser-like client and its session's CSRF token."""
    person(rt, "maria", ("moderator",))
    with https_client(rt) as c:
        resp = log_in(c, "maria")
        assert resp.status_code == 200, resp.text
        yield c, resp.json()["csrf_token"]


def _post(ingest: TestClient, text: str) -> str:
    author = f.account()
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], text)
    assert ingest.post("/v1/posts", json=body).status_code == 201
    return str(body["platform_id"])


def _case_id(c: TestClient, pid: str) -> int:
    for q in c.get("/v1/queues").json():
        for case in c.get(f"/v1/queues/{q['queue']}/cases").json():
            if case["subject"] == pid:
                return int(case["id"])
    raise AssertionError(pid)


def test_queues_page_lists_counts_and_links(ingest: TestClient, moderator: tuple[TestClient, str]) -> None:
    _post(ingest, THREAT)
    c, _ = moderator
    html = c.get("/review").text
    assert '<a href="/review/queues/threats">' in html
    assert re.search(r'data-testid="open-threats">1<', html)
    scripts = re.findall(r"<script[^>]*>", c.get("/review/queues/threats").text)
    assert scripts == ['<script src="/static/workbench.js" defer>']  # a file, never inline


def test_post_text_is_shown_as_text_never_as_markup(
    ingest: TestClient, moderator: tuple[TestClient, str]
) -> None:
    pid = _post(ingest, HOSTILE)
    c, _ = moderator
    html = c.get(f"/review/cases/{_case_id(c, pid)}").text
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<b>now</b>" not in html
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == ['<script src="/static/workbench.js" defer>']  # a file, never inline


def test_take_and_decide_through_the_forms(
    ingest: TestClient, moderator: tuple[TestClient, str], rt: Runtime
) -> None:
    pid = _post(ingest, THREAT)
    c, token = moderator
    cid = _case_id(c, pid)
    no_csrf = c.post(f"/review/cases/{cid}/take", data={})
    assert no_csrf.status_code == 403
    taken = c.post(f"/review/cases/{cid}/take", data={"csrf_token": token}, follow_redirects=True)
    assert taken.status_code == 200
    assert 'id="decide-form"' in taken.text
    revision = re.search(r'name="revision" value="(\d+)"', taken.text)
    assert revision is not None
    form = {
        "csrf_token": token,
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "",
        "revision": revision.group(1),
    }
    missing = c.post(f"/review/cases/{cid}/decide", data=form)
    assert missing.status_code == 422
    assert 'id="reason" rows="3" maxlength="2000" aria-invalid="true"' in missing.text
    assert "a reason is required" in missing.text
    done = c.post(
        f"/review/cases/{cid}/decide", data={**form, "reason": "credible threat"}, follow_redirects=True
    )
    assert done.status_code == 200
    assert f"Case {cid} decided." in done.text
    assert ingest.get(f"/v1/posts/{pid}").json()["status"] == "removed"


def test_the_dashboard_and_search_render(ingest: TestClient, moderator: tuple[TestClient, str]) -> None:
    pid = _post(ingest, THREAT)
    c, _ = moderator
    dash = c.get("/review/dashboard")
    assert dash.status_code == 200
    assert re.search(r'id="opened">1<', dash.text)
    found = c.get("/review/search", params={"q": "kill you"})
    assert pid in found.text
    accounts = c.get("/review/search", params={"q": "user", "kind": "accounts"})
    assert accounts.status_code == 200


def test_a_role_without_queue_view_is_refused(rt: Runtime) -> None:
    person(rt, "pat", ("policy_editor",))
    with https_client(rt) as c:
        log_in(c, "pat")
        assert c.get("/review").status_code == 403
