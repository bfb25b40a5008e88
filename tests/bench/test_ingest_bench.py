"""The ingest benchmark runs end to end in --quick mode and writes a well-formed, consistent JSON.

No timing assertions: timings belong in bench/results/, never in unit tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "ingest.py"
N, BATCH, WARMUP, THREADS, CONCURRENT = 30, 50, 10, 2, 20
LATENCY_KEYS = {"p50", "p90", "p99", "max", "mean"}
TALLY_KEYS = {"sent", "created", "decided", "failed", "outcomes", "errors", "wall_s", "posts_per_s"}


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run of the benchmark (builtin sample texts, so it does not depend on the datasets)."""
    tmp = tmp_path_factory.mktemp("bench")
    out = tmp / "ingest.json"
    cmd = [
        sys.executable,
        str(SCRIPT),
        "--quick",
        "--single",
        str(N),
        "--batches",
        "1",
        "--batch-size",
        str(BATCH),
        "--warmup",
        str(WARMUP),
        "--threads",
        str(THREADS),
        "--concurrent",
        str(CONCURRENT),
        "--data-dir",
        str(tmp / "no-datasets"),
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "single HTTP" in proc.stdout
    return json.loads(out.read_text(encoding="utf-8"))


def test_top_level_shape(result: dict) -> None:
    assert result["benchmark"] == "ingest"
    assert result["database"] == "sqlite (WAL)"
    assert {"cores", "platform", "python"} <= set(result["machine"])
    assert isinstance(result["machine"]["cores"], int)
    assert {
        "timestamp",
        "params",
        "single_http",
        "batch_http",
        "concurrent_http",
        "stages_us_per_post",
        "ratios",
        "targets",
        "persisted",
    } <= set(result)
    params = result["params"]
    assert (params["single"], params["batches"], params["batch_size"]) == (N, 1, BATCH)
    assert params["quick"] is True
    assert params["data_source"] == "builtin"
    targets = result["targets"]
    assert targets["batch_posts_per_s"] == 2000
    assert targets["single_p99_ms"] == 50
    assert set(targets["met"]) == {"batch_posts_per_s", "single_p99_ms"}
    assert all(isinstance(v, bool) for v in targets["met"].values())
    assert "batch_vs_single_throughput" in result["ratios"]


def test_single_posts_all_decided(result: dict) -> None:
    single = result["single_http"]
    assert TALLY_KEYS <= set(single)
    assert single["sent"] == single["created"] == single["decided"] == N
    assert single["failed"] == 0
    assert single["errors"] == []
    assert sum(single["outcomes"].values()) == N
    assert set(single["latency_ms"]) == LATENCY_KEYS
    lat = single["latency_ms"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]


def test_batch_posts_all_decided(result: dict) -> None:
    batch = result["batch_http"]
    assert TALLY_KEYS <= set(batch)
    assert batch["batches"] == 1
    assert len(batch["per_batch_ms"]) == 1
    assert batch["sent"] == batch["created"] == batch["decided"] == BATCH
    assert batch["failed"] == 0
    assert sum(batch["outcomes"].values()) == BATCH
    assert set(batch["batch_latency_ms"]) == LATENCY_KEYS


def test_concurrent_posts_all_decided(result: dict) -> None:
    conc = result["concurrent_http"]
    assert conc["threads"] == THREADS
    assert conc["sent"] == conc["created"] == conc["decided"] == CONCURRENT
    assert conc["failed"] == 0
    assert set(conc["latency_ms"]) == LATENCY_KEYS


def test_everything_sent_was_persisted(result: dict) -> None:
    params, persisted = result["params"], result["persisted"]
    expected = params["warmup_single"] + params["warmup_batch"] + N + BATCH + CONCURRENT
    assert persisted["expected_posts"] == expected
    assert persisted["posts"] == expected
    assert persisted["live_verdicts"] == expected
    assert persisted["ok"] is True


def test_stage_timings_cover_the_same_posts(result: dict) -> None:
    stages = result["stages_us_per_post"]
    for key in ("normalize", "score", "decide", "ingest_batch", "ingest_post_single_txn"):
        assert isinstance(stages[key], float)
        assert stages[key] > 0
    assert stages["posts"] == BATCH
    assert stages["ingest_batch_posts"] == BATCH
    assert stages["ingest_post_single_posts"] == N
    assert sum(stages["outcomes"].values()) == BATCH
