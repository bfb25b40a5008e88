"""Appeals over HTTP and through the signed link: who may appeal, independence, outcomes, notices."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.appeals.conftest import SCAM, THREAT, action_of, notes
from tests.conftest import Clock
from tests.content import assert_error
from tests.fixtures import factories as f
from tests.fixtures.clients import Staff, account, post


def _appeal(platform: TestClient, **body: Any) -> Any:
    return platform.post("/v1/appeals", json={"statement": "this was a joke between friends", **body})


def test_the_affected_user_appeals_an_automated_removal_and_wins(
    platform: TestClient, staff: Staff, clock: Clock
) -> None:
    author = account(platform)
    pid = post(platform, author, SCAM)
    act = action_of(platform, pid)
    resp = _appeal(platform, kind="action", action=act["puid"], account=author)
    assert resp.status_code == 201, resp.text
    appeal = resp.json()
    assert appeal["state"] == "received"
    assert appeal["original_source"] == "automated"
    assert_error(_appeal(platform, kind="action", action=act["puid"], account=author), 409, "action")
    assert_error(
        _appeal(platform, kind="action", action=act["puid"], account=account(platform)), 403, "account"
    )
    assert_error(_appeal(platform, kind="action", action="post-nope-1", account=author), 404, "action")
    reviewer = staff("rev", ["appeals_reviewer"])
    assert reviewer.post(f"/v1/appeals/{appeal['id']}/take").json()["state"] == "in_review"
    done = reviewer.post(
        f"/v1/appeals/{appeal['id']}/decide", json={"outcome": "overturned", "reason": "satire"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["outcome"] == "overturned"
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "visible"
    account_view = platform.get(f"/v1/accounts/{author}").json()
    assert account_view["active_strikes"] == []
    kinds = [n["kind"] for n in notes(platform, author)]
    assert kinds == ["appeal_received", "appeal_in_review", "appeal_decided"]
    assert "out-of-court" in notes(platform, author)[-1]["body"]["next_steps"]


def test_the_reviewer_of_the_original_decision_cannot_decide_the_appeal(
    platform: TestClient, staff: Staff
) -> None:
    author = account(platform)
    pid = post(platform, author, THREAT)
    both = staff("both", ["moderator", "appeals_reviewer"])
    cases = both.get("/v1/queues/threats/cases").json()
    cid = next(c["id"] for c in cases if c["subject"] == pid)
    rev = both.post(f"/v1/cases/{cid}/take").json()["revision"]
    body = {
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "threat",
        "revision": rev,
    }
    assert both.post(f"/v1/cases/{cid}/decide", json=body).status_code == 200
    appeal = _appeal(platform, kind="action", action=action_of(platform, pid)["puid"], account=author).json()
    assert appeal["original_source"] == "human"
    assert_error(both.post(f"/v1/appeals/{appeal['id']}/take"), 403)
    other = staff("other", ["appeals_reviewer"])
    assert other.post(f"/v1/appeals/{appeal['id']}/take").status_code == 200
    assert_error(
        other.post(f"/v1/appeals/{appeal['id']}/decide", json={"outcome": "modified", "reason": "x"}), 422
    )
    modified = {"outcome": "modified", "reason": "a label is enough", "action": "label"}
    resp = other.post(f"/v1/appeals/{appeal['id']}/decide", json=modified)
    assert resp.status_code == 200, resp.text
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "labelled"
    stats = other.get("/v1/appeals/stats").json()
    assert stats["by_source"]["human"]["reversal_rate"] == 1.0
    assert stats["by_policy"]["harassment_threats"]["reversed"] == 1


def test_a_reporter_appeals_a_decision_to_leave_content_up(platform: TestClient, staff: Staff) -> None:
    author, reporter = account(platform), account(platform)
    pid = post(platform, author, "Lovely weather at the lake today.")
    report = platform.post("/v1/reports", json=f.report(pid, "hate_speech", reporter=reporter)).json()
    mod = staff("mod", ["moderator"])
    cid = report["case_id"]
    rev = mod.post(f"/v1/cases/{cid}/take").json()["revision"]
    assert (
        mod.post(f"/v1/cases/{cid}/decide", json={"outcome": "no_violation", "revision": rev}).status_code
        == 200
    )
    told = notes(platform, reporter)[-1]
    assert told["body"]["outcome"] == "no_violation"
    assert_error(_appeal(platform, kind="report", report=report["report_id"], account=author), 403, "account")
    appeal = _appeal(platform, kind="report", report=report["report_id"], account=reporter)
    assert appeal.status_code == 201, appeal.text
    reviewer = staff("rev", ["appeals_reviewer"])
    aid = appeal.json()["id"]
    reviewer.post(f"/v1/appeals/{aid}/take")
    assert_error(
        reviewer.post(f"/v1/appeals/{aid}/decide", json={"outcome": "overturned", "reason": "x"}), 422
    )
    body = {
        "outcome": "overturned",
        "reason": "it is hate on reflection",
        "action": "remove",
        "policy": "hate_speech",
    }
    assert reviewer.post(f"/v1/appeals/{aid}/decide", json=body).status_code == 200
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "removed"


def test_appeals_close_after_the_window(platform: TestClient, clock: Clock) -> None:
    author = account(platform)
    act = action_of(platform, post(platform, author, SCAM))
    clock.advance(days=200)
    assert_error(_appeal(platform, kind="action", action=act["puid"], account=author), 409, "action")


def test_the_signed_link_in_the_notice_opens_a_public_appeal_page(
    platform: TestClient, admin: TestClient, app: Any, clock: Clock
) -> None:
    author = account(platform)
    pid = post(platform, author, SCAM)
    notice = admin.get(f"/v1/actions/{action_of(platform, pid)['id']}/notice").text
    link = re.search(r"http://testserver(/appeal/[\w.-]+)", notice)
    assert link is not None
    with TestClient(app, base_url="https://testserver") as browser:  # no credentials at all
        page = browser.get(link.group(1))
        assert page.status_code == 200, page.text
        assert "Why do you disagree?" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        empty = browser.post(link.group(1), data={"csrf_token": csrf.group(1), "statement": "  "})
        assert empty.status_code == 422
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', empty.text)  # each form carries a fresh token
        assert csrf is not None
        sent = browser.post(
            link.group(1), data={"csrf_token": csrf.group(1), "statement": "I was quoting a scam"}
        )
        assert sent.status_code == 201, sent.text
        assert 'id="appeal-done"' in sent.text
        again = browser.post(link.group(1), data={"csrf_token": csrf.group(1), "statement": "again"})
        assert again.status_code == 409
        forged = browser.get(link.group(1)[:-3] + "abc")
        assert forged.status_code == 404
        clock.advance(days=400)
        assert browser.get(link.group(1)).status_code == 410
