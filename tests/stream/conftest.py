"""Stream fixtures: a private redis-server per test session (real Redis, its own port and folder)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from townsquare.config import Settings
from townsquare.runtime import Runtime, build_runtime

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server process with append-only persistence in its own folder; can be restarted."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 15
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        """Stop it (SIGTERM: Redis flushes its append-only file and exits)."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for this test session (each xdist worker has its own)."""
    if shutil.which(REDIS_SERVER) is None and not Path(REDIS_SERVER).exists():
        pytest.fail("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


def stream_settings(settings: Settings, url: str, **over: object) -> Settings:
    """Test settings in stream mode, with a prefix no other test shares and short timings."""
    values: dict[str, object] = {
        "redis_url": url,
        "stream_prefix": f"t{uuid.uuid4().hex[:8]}",
        "stream_shards": 4,
        "stream_block_ms": 50,
        "stream_claim_idle_ms": 500,
        "stream_lease_ms": 1_000,
        "stream_backoff_max_s": 0.2,
        "stream_max_deliveries": 3,
    }
    values.update(over)
    return settings.model_copy(update=values)


@pytest.fixture
def ssettings(settings: Settings, redis_server: RedisServer) -> Settings:
    """This test's settings, streaming through the session's Redis."""
    return stream_settings(settings, redis_server.url)


@pytest.fixture
def srt(ssettings: Settings, clock: object) -> Iterator[Runtime]:
    """A runtime in stream mode."""
    runtime = build_runtime(ssettings, clock=clock)  # type: ignore[arg-type]
    yield runtime
    runtime.dispose()
