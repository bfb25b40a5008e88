"""The workbench through people's sessions: forms that keep their fields, queue control, take-next that
explains, notes and history, account and post pages, wellbeing settings, and refusals for new routes."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures import factories as f
from tests.fixtures.staff import https_client, signed_in
from townsquare.db import transaction
from townsquare.review.seed import seed_cases
from townsquare.runtime import Runtime

THREAT = "I will kill you, just wait"
WAVE = "I will kill you and everyone like you, this is your final warning from all of us here"


def _post(ingest: TestClient, text: str, **account: object) -> tuple[str, str]:
    author = f.account(**account)
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], text)
    assert ingest.post("/v1/posts", json=body).status_code == 201
    return str(body["platform_id"]), str(author["platform_id"])


def _case_id(c: TestClient, pid: str) -> int:
    for q in c.get("/v1/queues").json():
        for case in c.get(f"/v1/queues/{q['queue']}/cases").json():
            if case["subject"] == pid:
                return int(case["id"])
    raise AssertionError(pid)


def _take(c: TestClient, token: str, cid: int) -> str:
    taken = c.post(f"/review/cases/{cid}/take", data={"csrf_token": token}, follow_redirects=True)
    found = re.search(r'name="revision" value="(\d+)"', taken.text)
    assert found is not None, taken.text[:500]
    return found.group(1)


def test_a_suspension_without_days_comes_back_as_suspend_with_its_reason(
    ingest: TestClient, rt: Runtime
) -> None:
    pid, _ = _post(ingest, THREAT)
    c, token = signed_in(rt, "maria", "moderator")
    cid = _case_id(c, pid)
    revision = _take(c, token, cid)
    form = {
        "csrf_token": token,
        "outcome": "violation",
        "policy": "hate_speech",
        "action": "suspend",
        "reason": "repeated threats",
        "duration_days": "",
        "revision": revision,
    }
    bad = c.post(f"/review/cases/{cid}/decide", data=form)
    assert bad.status_code == 422
    assert "a suspension needs its number of days" in bad.text
    assert re.search(r'<option value="suspend" selected>', bad.text)
    assert re.search(r'<option value="hate_speech" selected>', bad.text)
    assert ">repeated threats</textarea>" in bad.text
    assert 'id="duration_days" min="1" max="3650" value="" aria-invalid="true"' in bad.text
    assert ingest.get(f"/v1/posts/{pid}").json()["status"] == "visible"


def test_after_a_decision_the_next_case_opens_and_says_what_was_done(ingest: TestClient, rt: Runtime) -> None:
    first, _ = _post(ingest, THREAT)
    _post(ingest, "I will kill you tomorrow, watch out")
    c, token = signed_in(rt, "maria", "moderator")
    cid = _case_id(c, first)
    revision = _take(c, token, cid)
    done = c.post(
        f"/review/cases/{cid}/decide",
        data={
            "csrf_token": token,
            "outcome": "violation",
            "policy": "harassment_threats",
            "action": "remove",
            "reason": "credible threat",
            "revision": revision,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    target = done.headers["location"]
    assert re.match(rf"/review/cases/\d+\?done={cid}$", target), target
    page = c.get(target).text
    assert f"Case #{cid} decided: remove under harassment_threats" in page
    assert 'id="decide-form"' in page  # the next case is taken for the moderator


def test_a_queue_pages_through_every_case_with_its_total(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        seed_cases(session, rt, 275, protected_every=10)
    c, _ = signed_in(rt, "maria", "moderator")
    first = c.get("/review/queues/threats")
    assert re.search(r'id="total">275<', first.text)
    assert first.text.count('data-href="/review/cases/') == 50
    last = c.get("/review/queues/threats", params={"page": 6})
    assert "Showing 251–275 of" in last.text
    assert last.text.count('data-href="/review/cases/') == 25
    protected = c.get("/review/queues/threats", params={"protected": "only"})
    assert re.search(r'id="total">28<', protected.text)
    assert protected.text.count('class="flag protected"') == 28
    spanish = c.get("/review/queues/threats", params={"language": "es", "min_reports": "3"})
    total = int(re.search(r'id="total">(\d+)<', spanish.text).group(1))  # type: ignore[union-attr]
    assert 0 < total < 275
    by_views = c.get("/review/queues/threats", params={"sort": "views", "per_page": 5}).text
    views = [int(v) for v in re.findall(r"<td>(\d+)</td>\s*<td>open</td>", by_views)]
    assert views == sorted(views, reverse=True)
    assert len(views) == 5
    bad = c.get("/review/queues/threats", params={"min_reports": "many", "policy": "hate_speech"})
    assert bad.status_code == 422
    assert 'value="many" aria-invalid="true"' in bad.text
    assert '<option value="hate_speech" selected>' in bad.text


def test_take_next_says_what_it_skipped_and_why(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        ids = seed_cases(session, rt, 12, protected_every=1, prefix="prot")
        seed_cases(session, rt, 3, prefix="plain")
        from townsquare.review.models import Case

        for cid in ids:  # the protected cases rank first
            row = session.get(Case, cid)
            assert row is not None
            row.priority = 1000.0
    c, token = signed_in(rt, "maria", "moderator")
    resp = c.post("/review/queues/threats/next", data={"csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    assert "skipped_total=12" in resp.headers["location"]
    page = c.get(resp.headers["location"]).text
    assert "Skipped 12 cases above this one that you cannot take" in page
    assert "protected subject" in page
    assert "action:protected" in page


def test_notes_and_escalation_reasons_show_in_the_history(ingest: TestClient, rt: Runtime) -> None:
    pid, _ = _post(ingest, THREAT)
    c, token = signed_in(rt, "maria", "moderator")
    cid = _case_id(c, pid)
    empty = c.post(f"/review/cases/{cid}/notes", data={"csrf_token": token, "body": "  "})
    assert empty.status_code == 422
    assert 'id="note-body" rows="2" maxlength="4000" aria-invalid="true"' in empty.text
    c.post(f"/review/cases/{cid}/notes", data={"csrf_token": token, "body": "author has a history of this"})
    no_reason = c.post(f"/review/cases/{cid}/escalate", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 422
    assert 'id="escalate-reason" maxlength="2000" value=" " aria-invalid="true"' in no_reason.text
    c.post(f"/review/cases/{cid}/escalate", data={"csrf_token": token, "reason": "names a real school"})
    senior, _ = signed_in(rt, "sam", "senior_moderator")
    page = senior.get(f"/review/cases/{cid}").text
    assert re.search(
        r'id="escalation-reason"><strong>Escalated</strong> by user:maria.*names a real school', page
    )
    history = page.split('id="timeline-list"')[1]
    assert "author has a history of this" in history
    assert "names a real school" in history
    assert 'data-kind="signal"' in history
    assert 'data-kind="opened"' in history


def test_account_and_post_pages_and_search_links(ingest: TestClient, rt: Runtime) -> None:
    pid, account = _post(ingest, THREAT, handle="rowan_b")
    c, _ = signed_in(rt, "maria", "moderator")
    found = c.get("/review/search", params={"q": "kill you"}).text
    assert f'href="/review/posts/{pid}"' in found
    assert f'href="/review/accounts/{account}" class="handle">@rowan_b</a>' in found
    assert "/v1/" not in found.split("<main")[1]
    post = c.get(f"/review/posts/{pid}")
    assert post.status_code == 200
    assert THREAT in post.text
    acct = c.get(f"/review/accounts/{account}")
    assert acct.status_code == 200
    assert 'id="standing">good<' in acct.text
    assert f'href="/review/posts/{pid}"' in acct.text
    assert c.get("/review/accounts/nobody-here").status_code == 404
    case = c.get(f"/review/cases/{_case_id(c, pid)}").text
    assert f'href="/review/accounts/{account}" class="handle">@rowan_b</a>' in case


def test_wellbeing_settings_change_what_is_blurred(ingest: TestClient, rt: Runtime) -> None:
    pid, _ = _post(ingest, THREAT)
    c, token = signed_in(rt, "maria", "moderator")
    cid = _case_id(c, pid)
    assert 'class="post-text blurred"' in c.get(f"/review/cases/{cid}").text
    assert 'class="harmful blurred"' in c.get("/review/queues/threats").text
    bad = c.post("/review/settings", data={"csrf_token": token, "blur_from": "high", "break_after": "-3"})
    assert bad.status_code == 422
    assert 'value="-3" aria-invalid="true"' in bad.text
    ok = c.post(
        "/review/settings",
        data={"csrf_token": token, "blur_from": "critical", "grayscale": "on", "break_after": "2"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    case = c.get(f"/review/cases/{cid}").text
    assert 'class="post-text gray"' in case
    assert 'class="harmful blurred' not in c.get("/review/queues/threats").text


def test_a_break_is_suggested_after_a_run_of_severe_cases(ingest: TestClient, rt: Runtime) -> None:
    pids = [_post(ingest, f"I will kill you, just wait #{i}")[0] for i in range(3)]
    c, token = signed_in(rt, "maria", "moderator")
    c.post("/review/settings", data={"csrf_token": token, "blur_from": "high", "break_after": "2"})
    for pid in pids[:2]:
        cid = _case_id(c, pid)
        revision = _take(c, token, cid)
        c.post(
            f"/review/cases/{cid}/decide",
            data={"csrf_token": token, "outcome": "no_violation", "reason": "", "revision": revision},
        )
    page = c.get("/review/queues/threats").text
    assert "You have decided 2 severe cases in a row" in page


def test_the_bulk_form_takes_the_groups_policy_lists_authors_and_asks_to_confirm(
    ingest: TestClient, rt: Runtime
) -> None:
    pids = [_post(ingest, f"{WAVE} #{i}", handle=f"waver{i}")[0] for i in range(3)]
    c, token = signed_in(rt, "sam", "senior_moderator")
    preview = c.get("/review/bulk", params={"contains": "final warning"}).text
    assert '<option value="harassment_threats" selected>' in preview
    for i in range(3):
        assert f">@waver{i}</a>" in preview.split('id="preview-authors"')[1].split("</p>")[0]
    form = {
        "csrf_token": token,
        "contains": "final warning",
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "",
    }
    missing = c.post("/review/bulk", data=form)
    assert missing.status_code == 422
    assert '<option value="remove" selected>' in missing.text
    asked = c.post("/review/bulk", data={**form, "reason": "coordinated threat wave"})
    assert asked.status_code == 200
    assert 'id="bulk-confirm"' in asked.text
    assert all(ingest.get(f"/v1/posts/{p}").json()["status"] == "visible" for p in pids)
    done = c.post("/review/bulk", data={**form, "reason": "coordinated threat wave", "confirmed": "yes"})
    assert "Decided 3 cases" in done.text
    assert all(ingest.get(f"/v1/posts/{p}").json()["status"] == "removed" for p in pids)


def test_an_appeal_modify_without_a_new_action_stays_modify(ingest: TestClient, rt: Runtime) -> None:
    author = f.account()
    ingest.post("/v1/accounts", json=author)
    body = f.post(author["platform_id"], "send 1 btc get 2 back now")
    ingest.post("/v1/posts", json=body)
    puid = ingest.get(f"/v1/posts/{body['platform_id']}").json()["actions"][0]["puid"]
    aid = ingest.post(
        "/v1/appeals",
        json={"kind": "action", "action": puid, "account": author["platform_id"], "statement": "a joke"},
    ).json()["id"]
    c, token = signed_in(rt, "rita", "appeals_reviewer")
    c.post(f"/review/appeals/{aid}/take", data={"csrf_token": token})
    bad = c.post(
        f"/review/appeals/{aid}/decide",
        data={"csrf_token": token, "outcome": "modified", "action": "", "reason": "too harsh for a joke"},
    )
    assert bad.status_code == 422
    assert 'value="modified" id="a-modified" checked' in bad.text
    assert ">too harsh for a joke</textarea>" in bad.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/review/cases/1/notes"),
        ("GET", "/review/accounts/acct-1"),
        ("GET", "/review/posts/post-1"),
    ],
)
def test_new_pages_refuse_a_role_without_their_permission(rt: Runtime, method: str, path: str) -> None:
    c, token = signed_in(rt, "ada", "advertiser")
    resp = c.request(method, path, data={"csrf_token": token} if method == "POST" else None)
    assert resp.status_code == 403


def test_settings_refuse_an_anonymous_caller(rt: Runtime) -> None:
    with https_client(rt) as c:
        assert c.get("/review/settings", headers={"accept": "application/json"}).status_code == 401
        assert c.post("/review/settings", data={"blur_from": "off"}).status_code in (401, 403)


def test_odd_query_values_never_break_a_page(ingest: TestClient, rt: Runtime) -> None:
    pid, _ = _post(ingest, THREAT)
    c, _ = signed_in(rt, "maria", "moderator")
    cid = _case_id(c, pid)
    odd = "99999999999999999999999999,x,-1"
    assert c.get(f"/review/cases/{cid}", params={"done": odd, "skipped": odd}).status_code == 200
    assert c.get("/review/queues/threats", params={"skipped": odd, "page": "0"}).status_code == 422
    assert c.get("/review/queues/threats", params={"sort": "random"}).status_code == 422
