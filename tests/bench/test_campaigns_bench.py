"""The campaigns benchmark runs end to end on a small stream and writes a well-formed, consistent JSON.

No assertions on precision, recall or timings: those belong in bench/results/, never in unit tests.
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


def test_quick_run_writes_consistent_figures(tmp_path: Path) -> None:
    if not (DATA / "tweeteval-offensive").is_dir():
        pytest.skip(f"the shared datasets are not at {DATA}")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import campaigns as bench
    finally:
        sys.path.remove(str(ROOT / "bench"))
    out = tmp_path / "campaigns.json"
    assert bench.main(["--quick", "--data-dir", str(DATA), "--out", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    acc = result["accuracy"]
    assert acc["campaigns"] == 2 * len(bench.KINDS)
    assert acc["detections"] == acc["true_detections"] + acc["false_detections"]
    assert set(acc["by_kind"]) == set(bench.KINDS)
    assert sum(k["campaigns"] for k in acc["by_kind"].values()) == acc["campaigns"]
    assert 0.0 <= acc["recall"] <= 1.0
    assert result["stream"]["campaign_posts"] < result["stream"]["posts"]
    assert result["cost_at_1000_posts_per_s"]["posts"] > 0
