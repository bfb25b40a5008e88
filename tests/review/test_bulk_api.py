"""Copy-paste waves: near-duplicates share a group, a preview counts them, one decision covers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.content import assert_error
from tests.fixtures import factories as f
from tests.review.conftest import case_for, new_account, new_post

Staff = Callable[[str, list[str]], TestClient]
WAVE = "I will kill you and everyone like you, this is your final warning from all of us here"


@pytest.fixture
def review_overrides() -> dict[str, Any]:
    return {"second_review_rate": 0.0, "automation_qa_rate": 0.0, "bulk_approval_size": 3}


def _wave(platform: TestClient, n: int) -> list[str]:
    return [new_post(platform, new_account(platform), f"{WAVE} #{i}") for i in range(n)]


def test_a_wave_in_one_batch_shares_one_group(platform: TestClient, staff: Staff) -> None:
    """The batch path opens its cases in one transaction: later cases must see earlier ones' groups."""
    authors = [new_account(platform) for _ in range(4)]
    items = [f.post(a, f"{WAVE} #{i}") for i, a in enumerate(authors)]
    resp = platform.post("/v1/posts/batch", json={"posts": items})
    assert resp.status_code == 200, resp.text
    senior = staff("senior", ["senior_moderator"])
    groups = [case_for(senior, str(item["platform_id"]))["dup_group"] for item in items]
    assert groups[0]
    assert groups == [groups[0]] * 4


def test_a_wave_shares_one_group_and_is_decided_at_once(platform: TestClient, staff: Staff) -> None:
    pids = _wave(platform, 3)
    senior = staff("senior", ["senior_moderator"])
    groups = {case_for(senior, p)["dup_group"] for p in pids}
    assert len(groups) == 1
    group = groups.pop()
    assert group
    preview = senior.post("/v1/cases/bulk/preview", json={"dup_group": group}).json()
    assert preview["count"] == 3
    assert preview["needs_approval"] is False
    body = {
        "filter": {"dup_group": group},
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "coordinated threats",
    }
    done = senior.post("/v1/cases/bulk", json=body)
    assert done.status_code == 200, done.text
    assert done.json()["decided"] == 3
    assert all(platform.get(f"/v1/posts/{p}").json()["status"] == "removed" for p in pids)


def test_a_bulk_decision_over_the_size_needs_a_second_person(platform: TestClient, staff: Staff) -> None:
    _wave(platform, 4)
    first, second = staff("senior1", ["senior_moderator"]), staff("senior2", ["senior_moderator"])
    body = {"filter": {"contains": "final warning"}, "outcome": "no_violation", "reason": "song lyrics"}
    assert first.post("/v1/cases/bulk/preview", json=body["filter"]).json()["needs_approval"] is True
    resp = first.post("/v1/cases/bulk", json=body)
    assert resp.status_code == 202, resp.text
    approval = resp.json()["id"]
    assert_error(first.post(f"/v1/approvals/{approval}/approve", json={}), 403)
    done = second.post(f"/v1/approvals/{approval}/approve", json={"reason": "checked the lyrics"})
    assert done.status_code == 200, done.text
    assert done.json()["result"]["decided"] == 4


def test_bulk_needs_a_filter_and_the_permission(platform: TestClient, staff: Staff) -> None:
    mod, senior = staff("mod", ["moderator"]), staff("senior", ["senior_moderator"])
    assert_error(mod.post("/v1/cases/bulk/preview", json={"queue": "threats"}), 403)
    assert_error(senior.post("/v1/cases/bulk/preview", json={}), 422)
    body = {"filter": {"queue": "threats"}, "outcome": "no_violation", "reason": "x"}
    assert_error(senior.post("/v1/cases/bulk", json=body), 422, "filter")
    # An id past the largest BIGINT is a bad field, not an overflow inside the database driver.
    huge = {"filter": {"case_ids": [2**80]}, "outcome": "no_violation", "reason": "x"}
    assert_error(senior.post("/v1/cases/bulk", json=huge), 422, "filter.case_ids.0")
    assert_error(senior.post("/v1/cases/bulk/preview", json={"case_ids": [0]}), 422, "case_ids.0")
