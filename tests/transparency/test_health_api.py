"""Prevalence (daily weighted sample, labelling, reweighted estimate) and platform health, through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Clock
from tests.content import assert_error
from tests.transparency.conftest import BENIGN, SCAM, Staff, account, post


def _views(platform: TestClient, counts: dict[str, tuple[int, int]]) -> None:
    """Snapshots: (views by the end of 1 March, views by the end of 2 March) per post."""
    items = []
    for pid, (before, after) in counts.items():
        items += [{"post": pid, "views": before, "observed_at": "2026-03-01T20:00:00Z"},
                  {"post": pid, "views": after, "observed_at": "2026-03-02T20:00:00Z"}]  # fmt: skip
    assert platform.post("/v1/posts/metrics", json={"items": items}).status_code == 200


def test_a_weighted_sample_is_labelled_and_weighed_back(
    platform: TestClient, staff: Staff, clock: Clock
) -> None:
    author = account(platform)
    scam = post(platform, author, SCAM)
    benign = [post(platform, author, f"{BENIGN} {i}") for i in range(5)]
    _views(platform, {scam: (10, 110), **{b: (0, 1000) for b in benign}})
    clock.advance(days=2)
    auditor, mod = staff("aud", ["auditor"]), staff("mod", ["moderator"])
    assert_error(mod.post("/v1/prevalence/samples", json={"day": "2026-03-02"}), 403)
    assert_error(auditor.post("/v1/prevalence/samples", json={"day": "2026-03-04"}), 422, "day")
    assert_error(auditor.post("/v1/prevalence/samples", json={"day": "2026-02-01"}), 404, "day")
    drawn = auditor.post("/v1/prevalence/samples", json={"day": "2026-03-02", "draws": 400})
    assert drawn.status_code == 201, drawn.text
    assert_error(auditor.post("/v1/prevalence/samples", json={"day": "2026-03-02"}), 409, "day")
    queue = mod.get("/v1/prevalence/queue").json()
    posts = {q["post"] for q in queue}
    assert scam in posts  # 100 of 5,100 views, but its score makes it ~40% of the draws
    for q in queue:
        label = "scams_fraud" if q["post"] == scam else "none"
        assert (
            mod.post(f"/v1/prevalence/samples/{q['sample']}/label", json={"label": label}).status_code == 200
        )
    assert_error(
        mod.post(f"/v1/prevalence/samples/{queue[0]['sample']}/label", json={"label": "bogus"}), 422, "label"
    )
    assert mod.get("/v1/prevalence/queue").json() == []
    est = auditor.get("/v1/prevalence", params={"from": "2026-03-02", "to": "2026-03-02"}).json()
    scams = est["policies"]["scams_fraud"]
    truth = 100 / 5100 * 10_000  # every view of the scam post that day is a violating view
    # Reweighted: the scam post is ~40% of the draws but only ~2% of the views.
    assert truth / 2 < scams["per_10k"] < truth * 2
    assert scams["low"] <= truth <= scams["high"]
    assert (
        scams["positive_draws"] == sum(1 for q in queue if q["post"] == scam) or scams["positive_draws"] > 0
    )
    assert est["policies"]["hate_speech"]["per_10k"] == 0


def test_health_trends_and_bad_ranges(platform: TestClient, scenario: dict[str, Any], staff: Staff) -> None:
    auditor = staff("aud", ["auditor"])
    resp = auditor.get("/v1/reports/health", params={"from": "2026-03-01", "to": "2026-03-04"})
    assert resp.status_code == 200, resp.text
    days = {d["day"]: d for d in resp.json()["days"]}
    assert list(days) == ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    assert days["2026-03-02"]["measures"] == 3
    assert days["2026-03-02"]["automated_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert days["2026-03-02"]["appeal_reversal_rate"] == 1.0
    assert days["2026-03-02"]["reports"] == {"upheld": 1, "rejected": 1}
    assert days["2026-03-01"]["automated_share"] is None
    bad = [
        ({"from": "2026-03-04", "to": "2026-03-01"}, "from"),
        ({"from": "2026-03-01", "to": "2099-01-01"}, "to"),
        ({"from": "bad"}, "from"),
        ({"from": "2025-01-01", "to": "2026-03-04"}, "from"),
    ]
    for params, field in bad:
        assert_error(auditor.get("/v1/reports/health", params=params), 422, field)
    assert_error(staff("mod", ["moderator"]).get("/v1/reports/health"), 403)
