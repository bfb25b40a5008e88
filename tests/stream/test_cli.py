"""The stream commands: `ingest --stream`, `worker`, `stream status|dead|retry`."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from tests.stream.conftest import RedisServer
from tests.stream.helpers import exactly_once, records
from townsquare.config import Settings
from townsquare.runtime import build_runtime


@pytest.fixture
def scli(
    cli: Callable[..., Result], redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """The CLI with stream ingest pointed at the test Redis."""
    monkeypatch.setenv("TOWNSQUARE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TOWNSQUARE_STREAM_PREFIX", f"c{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("TOWNSQUARE_STREAM_SHARDS", "4")
    monkeypatch.setenv("TOWNSQUARE_STREAM_BLOCK_MS", "50")
    monkeypatch.setenv("TOWNSQUARE_STREAM_BACKOFF_MAX_S", "0.2")
    monkeypatch.setenv("TOWNSQUARE_STREAM_MAX_DELIVERIES", "2")
    return cli


def test_ingest_stream_then_worker_decides_everything(
    scli: Callable[..., Result], tmp_path: Path, settings: Settings
) -> None:
    lines = [{"kind": kind, **body} for kind, body in records(2, 3, "cli")]
    lines.append(
        {
            "kind": "post",
            "platform_id": "cli-bad",
            "author": "nobody",
            "text": "x",
            "created_at": "2026-03-02T11:00:00Z",
        }
    )
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")

    queued = scli("ingest", "--stream", str(path))
    assert queued.exit_code == 0, queued.output
    assert "'post': 7" in queued.output
    ran = scli("worker", "--exit-when-idle", "1", "--name", "cli-w")
    assert ran.exit_code == 0, ran.output
    assert "stopped after 9 messages" in ran.output

    rt = build_runtime(settings)
    try:
        exactly_once(rt, 6)
    finally:
        rt.dispose()
    status = scli("stream", "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["dead"] == 1
    dead = scli("stream", "dead")
    assert "unknown author nobody" in dead.output
    dead_id = re.search(r"(\d{10,}-\d+)", dead.output)
    assert dead_id is not None
    assert scli("stream", "retry", dead_id.group(1)).exit_code == 0
    again = scli("stream", "retry", dead_id.group(1))
    assert again.exit_code != 0
    assert "already retried" in again.output


def test_stream_commands_without_redis_fail_cleanly(cli: Callable[..., Result], tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("{}\n", encoding="utf-8")
    for args in (("worker",), ("stream", "status"), ("ingest", "--stream", str(path))):
        out = cli(*args)
        assert out.exit_code == 2
        assert "TOWNSQUARE_REDIS_URL" in out.output
