"""Cases over HTTP: opening, routing, priority, taking with a lock, deciding, stale decisions."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.content import assert_error
from tests.fixtures import factories as f
from tests.review.conftest import BENIGN, SCAM, THREAT, case_for, cases_of, new_account, new_post
from townsquare.runtime import Runtime

Staff = Callable[[str, list[str]], TestClient]


def test_an_uncertain_verdict_opens_a_prioritised_case_in_its_queue(
    platform: TestClient, staff: Staff
) -> None:
    author = new_account(platform, follower_count=5000)
    pid = new_post(platform, author, THREAT)
    mod = staff("mod", ["moderator"])
    case = case_for(mod, pid)
    assert case["queue"] == "threats"
    assert case["kind"] == "review"
    assert case["opened_reason"] == "uncertain"
    assert case["policy"] == "harassment_threats"
    full = mod.get(f"/v1/cases/{case['id']}").json()
    inputs = full["priority_inputs"]
    assert inputs["severity"] == "high"
    assert inputs["score"] == 0.9
    assert inputs["followers"] == 5000
    assert full["priority"] > 0
    assert full["post"]["text"] == THREAT
    assert full["policy_text"]["definition"]
    assert full["author"]["platform_id"] == author


def test_more_views_raise_a_cases_priority(platform: TestClient, staff: Staff, rrt: Runtime) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, THREAT)
    mod = staff("mod", ["moderator"])
    before = case_for(mod, pid)["priority"]
    items = [
        {"post": pid, "views": 100, "observed_at": "2026-03-02T11:30:00Z"},
        {"post": pid, "views": 20100, "observed_at": "2026-03-02T11:50:00Z"},
    ]
    assert platform.post("/v1/posts/metrics", json={"items": items}).status_code == 200
    after = case_for(mod, pid)
    assert after["priority"] > before * 10
    assert after["queue"] == "threats"


def test_priority_inputs_show_the_latest_views_and_velocity(platform: TestClient, staff: Staff) -> None:
    """Velocity: views per hour between the two latest snapshots (the first: since the post's creation)."""
    author = new_account(platform)
    pid = new_post(platform, author, THREAT)  # created 11:00
    mod = staff("mod", ["moderator"])

    def inputs() -> dict[str, float]:
        return dict(mod.get(f"/v1/cases/{case_for(mod, pid)['id']}").json()["priority_inputs"])

    first = [{"post": pid, "views": 600, "observed_at": "2026-03-02T13:00:00Z"}]
    assert platform.post("/v1/posts/metrics", json={"items": first}).status_code == 200
    assert inputs()["views"] == 600
    assert inputs()["velocity"] == 300.0
    # Sent out of order: the later snapshot still counts as the latest.
    later = [
        {"post": pid, "views": 2600, "observed_at": "2026-03-02T17:00:00Z"},
        {"post": pid, "views": 1600, "observed_at": "2026-03-02T15:00:00Z"},
    ]
    assert platform.post("/v1/posts/metrics", json={"items": later}).status_code == 200
    assert inputs()["views"] == 2600
    assert inputs()["velocity"] == 500.0
    post = platform.get(f"/v1/posts/{pid}").json()
    assert post["views"] == 2600
    assert [v["views"] for v in post["view_snapshots"]] == [600, 1600, 2600]


def test_a_signal_reviewers_do_not_uphold_loses_priority(platform: TestClient, staff: Staff) -> None:
    """Each decision on a signal's review cases is a labelled example that weighs its next case."""
    mod = staff("mod", ["moderator"])
    first = case_for(mod, new_post(platform, new_account(platform), THREAT))
    full = mod.get(f"/v1/cases/{first['id']}").json()
    assert full["priority_inputs"]["decided"] == 0
    assert full["priority_inputs"]["likelihood"] == 0.9
    for text in (THREAT + " tonight", THREAT + " soon"):
        cid = case_for(mod, new_post(platform, new_account(platform), text))["id"]
        rev = mod.post(f"/v1/cases/{cid}/take").json()["revision"]
        body = {"outcome": "no_violation", "reason": "a figure of speech", "revision": rev}
        assert mod.post(f"/v1/cases/{cid}/decide", json=body).status_code == 200
    later = case_for(mod, new_post(platform, new_account(platform), THREAT + " at noon"))
    inputs = mod.get(f"/v1/cases/{later['id']}").json()["priority_inputs"]
    assert (inputs["upheld"], inputs["decided"]) == (0, 2)
    assert inputs["likelihood"] == round(10 * 0.9 / 12, 4)
    assert later["priority"] < first["priority"]
    page = mod.get(f"/review/cases/{later['id']}")
    assert "0 of 2 earlier decisions" in page.text


def test_reports_of_one_post_fold_into_one_case(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, BENIGN)
    for reason in ("spam", "spam", "hate_speech"):
        reporter = new_account(platform)
        resp = platform.post("/v1/reports", json=f.report(pid, reason, reporter=reporter))
        assert resp.status_code == 201, resp.text
    mod = staff("mod", ["moderator"])
    case = case_for(mod, pid)
    assert case["report_count"] == 3
    full = mod.get(f"/v1/cases/{case['id']}").json()
    assert {r["reason"] for r in full["reports"]} == {"spam", "hate_speech"}
    assert all(
        r["reporter_record"] == {"decided": 0, "upheld": 0, "upheld_share": None} for r in full["reports"]
    )


def test_trusted_flagger_reports_are_marked_and_weigh_more(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    plain, flagged = new_post(platform, author, BENIGN), new_post(platform, author, BENIGN + " Again.")
    platform.post("/v1/reports", json=f.report(plain, "hate_speech"))
    platform.post("/v1/reports", json=f.report(flagged, "hate_speech", source="trusted_flagger"))
    mod = staff("mod", ["moderator"])
    a, b = case_for(mod, plain), case_for(mod, flagged)
    assert b["trusted_flagger"]
    assert not a["trusted_flagger"]
    assert b["priority"] > a["priority"]


def test_a_burst_of_reports_from_new_lookalike_accounts_is_flagged_as_brigading(
    platform: TestClient, staff: Staff
) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, BENIGN)
    for _ in range(6):
        reporter = new_account(platform, created_at="2026-03-01T00:00:00Z")  # a day old
        body = f.report(
            pid, "hate_speech", reporter=reporter, text="this user is spreading hate report them now"
        )
        platform.post("/v1/reports", json=body)
    mod = staff("mod", ["moderator"])
    full = mod.get(f"/v1/cases/{case_for(mod, pid)['id']}").json()
    detail = full["brigading_detail"]
    assert full["brigading"] is True
    assert detail["independent"] == 0
    assert detail["why"]["new_account"] == 6
    assert detail["why"]["near_identical_text"] == 6
    assert all(r["suspicious"] for r in full["reports"])


def test_take_lock_decide_and_tell_the_reporters(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, THREAT)
    reporter = new_account(platform)
    platform.post("/v1/reports", json=f.report(pid, "harassment_threats", reporter=reporter))
    mod, other = staff("mod", ["moderator"]), staff("mod2", ["moderator"])
    case = case_for(mod, pid)
    taken = mod.post(f"/v1/cases/{case['id']}/take")
    assert taken.status_code == 200
    assert taken.json()["state"] == "assigned"
    assert_error(other.post(f"/v1/cases/{case['id']}/take"), 409)
    body = {
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "a threat",
        "revision": taken.json()["revision"],
    }
    assert_error(other.post(f"/v1/cases/{case['id']}/decide", json=body), 409)
    done = mod.post(f"/v1/cases/{case['id']}/decide", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["action_id"]
    assert platform.get(f"/v1/posts/{pid}").json()["status"] == "removed"
    notes = platform.get("/v1/notifications", params={"account": reporter}).json()
    assert notes[0]["kind"] == "report_outcome"
    assert notes[0]["body"]["outcome"] == "action_taken"
    assert_error(mod.post(f"/v1/cases/{case['id']}/decide", json=body), 409)


def test_decisions_need_reasons_and_fresh_cases(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, THREAT)
    mod = staff("mod", ["moderator"])
    cid = case_for(mod, pid)["id"]
    rev = mod.post(f"/v1/cases/{cid}/take").json()["revision"]
    no_reason = {"outcome": "violation", "policy": "harassment_threats", "action": "remove", "revision": rev}
    assert_error(mod.post(f"/v1/cases/{cid}/decide", json=no_reason), 422, "reason")
    stale = {**no_reason, "reason": "threat", "revision": rev - 1}
    assert_error(mod.post(f"/v1/cases/{cid}/decide", json=stale), 409, "revision")
    edit = platform.patch(f"/v1/posts/{pid}", json={"text": THREAT + " tomorrow"})
    assert edit.status_code == 200
    body = {**no_reason, "reason": "threat", "revision": rev}
    assert_error(mod.post(f"/v1/cases/{cid}/decide", json=body), 409)
    platform.request("DELETE", f"/v1/posts/{pid}", json={})
    rev2 = mod.get(f"/v1/cases/{cid}").json()["revision"]
    assert_error(mod.post(f"/v1/cases/{cid}/decide", json={**body, "revision": rev2}), 409)


def test_escalation_sends_a_case_to_senior_review(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, THREAT)
    triage = staff("tri", ["triage"])
    cid = case_for(triage, pid)["id"]
    assert_error(triage.post(f"/v1/cases/{cid}/take"), 403)
    assert_error(triage.post(f"/v1/cases/{cid}/escalate", json={"reason": " "}), 422, "reason")
    resp = triage.post(f"/v1/cases/{cid}/escalate", json={"reason": "context I cannot judge"})
    assert resp.status_code == 200
    assert [c["id"] for c in cases_of(triage, "senior")] == [cid]


def test_non_english_posts_go_to_the_language_queue(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    pid = new_post(platform, author, SCAM + " ahora mismo amigos", language="es")
    case = case_for(staff("mod", ["moderator"]), pid)
    assert case["queue"] == "languages"
    assert case["opened_reason"] == "non_english"


def test_a_proposed_suspension_opens_an_account_case(platform: TestClient, staff: Staff) -> None:
    author = new_account(platform)
    for i in range(3):  # scams_fraud ladder: remove, then suspension from 2 strikes
        new_post(platform, author, f"{SCAM} number {i}")
    mod = staff("mod", ["moderator"])
    accounts = [c for c in cases_of(mod, "account_actions") if c["subject"] == author]
    assert accounts
    assert accounts[0]["kind"] == "account_action"


def test_unknown_queue_and_case_are_404(staff: Staff) -> None:
    mod = staff("mod", ["moderator"])
    assert_error(mod.get("/v1/queues/nowhere/cases"), 404, "queue")
    assert_error(mod.get("/v1/cases/999999"), 404, "case_id")
