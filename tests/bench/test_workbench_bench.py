"""The workbench benchmark runs end to end on a short queue and writes a well-formed JSON.

No assertions on timings: those belong in bench/results/, never in unit tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_quick_run_measures_every_page(tmp_path: Path) -> None:
    out = tmp_path / "workbench.json"
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "bench"))
    try:
        import workbench

        workbench.main(["--cases", "300", "--requests", "2", "--out", str(out)])
    finally:
        mp.undo()
        sys.modules.pop("workbench", None)
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["open_cases"] == 300
    assert set(result["pages"]) >= {"queue", "queue_last_page", "case", "bulk_preview", "account", "settings"}
    for page in result["pages"].values():
        assert page["bytes"] > 1000
        assert page["p95"] >= page["p50"] > 0
        assert page["cpu_ms"]["p95"] > 0
