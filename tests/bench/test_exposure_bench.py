"""The exposure benchmark runs end to end on a small stream and writes a well-formed, consistent JSON.

No assertions on timings or on which ordering wins: those belong in bench/results/, never in unit tests.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from townsquare.config import PROJECT_ROOT

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("TOWNSQUARE_DATA_DIR", str(PROJECT_ROOT.parent / "shared" / "datasets")))
POSTS, ACCOUNTS, SEED = 300, 40, 7
CAPACITIES = {"0.005": 2, "0.01": 3, "0.02": 6}
ORDERS = ("prioritised", "fifo")
VARIANT_KEYS = {
    "views_prevented",
    "reviewed_views_prevented",
    "automated_views_prevented",
    "capacity",
    "decisions",
    "idle_slots",
    "decision_errors",
    "cases_opened",
    "cases_by_kind",
    "automated_actions",
    "automated_removals",
    "wrongful_automated",
    "wrongful_human",
    "human_removals",
    "violating_posts",
    "violating_reviewed",
    "violating_removed",
    "wall_s",
}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small run of the benchmark, in-process (the labels come from the shared datasets)."""
    if not DATA.is_dir():
        pytest.skip(f"the shared datasets are not at {DATA}")
    out = tmp_path_factory.mktemp("bench") / "exposure.json"
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "bench"))
    try:
        import exposure

        argv = ["--quick", "--posts", str(POSTS), "--accounts", str(ACCOUNTS), "--seed", str(SEED)]
        argv.append("--no-semantic")  # the two orders only: the semantic variants cost minutes here
        status = exposure.main([*argv, "--data-dir", str(DATA), "--out", str(out)])
    finally:
        mp.undo()
        sys.modules.pop("exposure", None)
    assert status == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_top_level_shape(result: dict) -> None:
    assert result["benchmark"] == "exposure"
    assert {"cores", "platform", "python", "sqlite"} <= set(result["machine"])
    assert {"timestamp", "params", "views_prevented", "by_capacity", "targets", "wall_s"} <= set(result)
    assert set(result["by_capacity"]) == set(CAPACITIES)
    assert set(result["views_prevented"]) == set(ORDERS)
    params = result["params"]
    assert (params["posts"], params["accounts"], params["seed"], params["quick"]) == (
        POSTS,
        ACCOUNTS,
        SEED,
        True,
    )
    assert params["hours"] == 24
    assert params["capacities"] == CAPACITIES
    assert params["views"]["median"] == 200
    assert params["views"]["sigma"] == 2.0
    assert params["reviewer_error"] == 0.05
    assert params["decision_s"] == 60
    targets = result["targets"]
    assert (targets["views_prevented"], targets["reviewed_ratio"]) == (0.70, 1.5)
    assert {
        "views_prevented",
        "views_prevented_at_0.005",
        "reviewed_ratio",
        "cases_opened_share",
        "top50_precision",
        "violating_views_with_case",
        "wrongful_automated_share",
    } == set(targets["met"])
    truth = params["ground_truth"]
    assert truth["violating_texts"] > 0
    assert truth["benign_texts"] > truth["violating_texts"]
    assert params["old_definition_violating_posts"] >= 0
    assert all(isinstance(v, bool) for v in targets["met"].values())


def test_stream_is_five_percent_violating(result: dict) -> None:
    violating = round(0.05 * POSTS)
    assert result["params"]["violating_posts"] == violating
    for entry in result["by_capacity"].values():
        for name in ORDERS:
            assert entry[name]["violating_posts"] == violating


def test_counts_add_up(result: dict) -> None:
    for cap, entry in result["by_capacity"].items():
        assert {"reviewed_ratio", *ORDERS} <= set(entry)
        for name in ORDERS:
            f = entry[name]
            assert VARIANT_KEYS <= set(f), name
            assert f["capacity"] == CAPACITIES[cap]
            assert 0 <= f["decisions"] <= f["capacity"]
            assert f["decisions"] + f["idle_slots"] + len(f["decision_errors"]) <= f["capacity"]
            assert f["decision_errors"] == []
            assert f["cases_opened"] == sum(f["cases_by_kind"].values())
            assert sum(f["ingest_outcomes"].values()) == POSTS
            assert f["automated_removals"] <= f["automated_actions"]
            assert f["wrongful_automated"] <= f["automated_removals"]
            assert f["wrongful_human"] <= f["human_removals"] <= f["decisions"]
            assert f["violating_reviewed"] <= f["violating_posts"]
            assert f["violating_removed"] <= f["violating_posts"]
            assert f["violating_reviewed"] <= f["cases_by_kind"].get("review", 0)
            assert 0.0 <= f["cases_precision"] <= 1.0
            assert f["cases_opened_share"] == pytest.approx(f["cases_opened"] / POSTS, abs=1e-6)
            for q in f["queues"].values():
                assert 1 <= q["samples"] <= 24
                assert 0.0 <= q["top50_precision_min"] <= q["top50_precision_median"] <= 1.0
            old = f["old_definition"]
            assert 0.0 <= old["views_prevented"] <= 1.0
            assert old["violating_posts"] >= 0


def test_views_prevented_are_shares(result: dict) -> None:
    for entry in result["by_capacity"].values():
        for name in ORDERS:
            f = entry[name]
            for key in ("views_prevented", "reviewed_views_prevented", "automated_views_prevented"):
                assert 0.0 <= f[key] <= 1.0, (name, key)
            assert f["automated_views_prevented"] <= f["views_prevented"]
    one = result["by_capacity"]["0.01"]
    assert result["views_prevented"] == {k: one[k]["views_prevented"] for k in ORDERS}
    assert result["reviewed_ratio"] == one["reviewed_ratio"]
