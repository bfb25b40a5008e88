"""The event-log benchmark runs end to end on a few posts and writes a well-formed, consistent JSON.

No assertions on timings: those belong in bench/results/, never in unit tests.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTS = 60


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run, in-process (the builtin sample posts when the datasets are absent)."""
    out = tmp_path_factory.mktemp("bench") / "audit_chain.json"
    mp = pytest.MonkeyPatch()
    mp.syspath_prepend(str(ROOT / "bench"))
    mp.setenv("TOWNSQUARE_MODELS_ENABLED", "false")
    try:
        import audit_chain

        status = audit_chain.main(
            [
                "--quick",
                *("--posts", str(POSTS), "--slice", "5", "--every", "3", "--seal-interval", "0"),
                *("--out", str(out)),
            ]
        )
    finally:
        mp.undo()
        sys.modules.pop("audit_chain", None)
    assert status == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_shape_and_counts(result: dict) -> None:
    assert result["benchmark"] == "audit_chain"
    assert {"cores", "platform", "python", "sqlite"} <= set(result["machine"])
    assert set(result["load_s"]) == {"end_only", "keeping"}
    assert result["params"]["posts"] == POSTS
    assert result["verify"]["ok"] is True
    assert result["verify"]["batches"] == result["batches"]
    assert result["reconcile"]["ok"] is True
    assert result["reconcile"]["checked"]["posts"] == POSTS


def test_checkpoints_as_it_goes_and_no_false_alarm_under_writes(result: dict) -> None:
    assert result["batches"] >= 13  # the accounts, then twelve slices of five posts
    assert result["checkpoints_during_load"] >= 4
    assert 1 <= result["widest_unprotected_tail_batches"] <= 3
    under = result["under_writes"]
    assert (under["verify_false_alarms"], under["reconcile_false_alarms"]) == (0, 0)
    assert under["runs"] == 2
