"""The real service as a subprocess, and the HTTP clients that measure it (ingest benchmark)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench_common import Record, encode, latency_summary_ms, rate


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command(host: str, port: int) -> list[str]:
    """`townsquare serve` from this interpreter's environment (the console script, else the module)."""
    script = Path(sys.executable).parent / "townsquare"
    args = ["serve", "--host", host, "--port", str(port)]
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "from townsquare.cli.main import app; app()", *args]


class Service:
    """`townsquare serve` on a free loopback port with its state in `workdir`."""

    def __init__(self, workdir: Path, database_url: str, token: str) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "server.log"
        self.ready_s = 0.0
        env = dict(os.environ)
        env.update(
            TOWNSQUARE_DATABASE_URL=database_url,
            TOWNSQUARE_SIGNING_KEY_PATH=str(workdir / "keys" / "checkpoint.ed25519"),
            TOWNSQUARE_CHECKPOINT_LOG_PATH=str(workdir / "keys" / "checkpoints.jsonl"),
            TOWNSQUARE_PUBLIC_URL=self.base_url,
        )
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            serve_command("127.0.0.1", self.port),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the service's output."""
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the service process has used so far; None where /proc is missing."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll GET /healthz until it answers 200 (raises with the service's log if it never does)."""
        start = time.perf_counter()
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.perf_counter() - start < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"the service exited with {self.proc.returncode} before it was ready:\n"
                        + self.log_tail()
                    )
                try:
                    if client.get("/healthz").status_code == 200:
                        self.ready_s = time.perf_counter() - start
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"the service was not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 15.0) -> int | None:
        """Terminate (SIGTERM), then kill after `timeout`; returns the exit status."""
        try:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=timeout)
            return self.proc.returncode
        finally:
            self._log.close()


@contextmanager
def running_service(workdir: Path, database_url: str, token: str) -> Iterator[Service]:
    """Start the service, wait for /healthz, and always stop it."""
    service = Service(workdir, database_url, token)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def http_client(base_url: str, token: str) -> httpx.Client:
    """A keep-alive client with the bearer token."""
    return httpx.Client(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=httpx.Timeout(120.0),
    )


@dataclass
class Tally:
    """What came back: how many were sent, created and decided, the outcomes, and the first errors."""

    sent: int = 0
    created: int = 0
    decided: int = 0
    failed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def item(self, created: bool, decision: dict[str, Any] | None, where: str) -> None:
        """Count one post's result: it counts as decided when created with a (non-pending) outcome."""
        self.sent += 1
        outcome = (decision or {}).get("outcome")
        if created:
            self.created += 1
        if created and outcome and outcome != "pending":
            self.decided += 1
            self.outcomes[outcome] += 1
        else:
            self.failed += 1
            self._error(f"{where}: created={created} decision={decision}")

    def failure(self, count: int, where: str, message: str) -> None:
        """Count posts whose request failed as a whole."""
        self.sent += count
        self.failed += count
        self._error(f"{where}: {message[:300]}")

    def merge(self, other: Tally) -> None:
        """Add another tally's counts (the concurrent phase has one per thread)."""
        self.sent += other.sent
        self.created += other.created
        self.decided += other.decided
        self.failed += other.failed
        self.outcomes.update(other.outcomes)
        for error in other.errors:
            self._error(error)

    def _error(self, message: str) -> None:
        if len(self.errors) < 10:
            self.errors.append(message)

    def as_dict(self) -> dict[str, Any]:
        """The counts for the JSON."""
        return {
            "sent": self.sent,
            "created": self.created,
            "decided": self.decided,
            "failed": self.failed,
            "outcomes": dict(sorted(self.outcomes.items())),
            "errors": list(self.errors),
        }


@dataclass
class Phase:
    """One measured phase: its tally, every request's latency, wall time and the service's CPU time."""

    tally: Tally = field(default_factory=Tally)
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float | None = None

    @property
    def posts_per_s(self) -> float:
        """Posts created and decided per second of wall time."""
        return rate(self.tally.decided, self.wall_s)

    def report(self) -> dict[str, Any]:
        """The phase's part of the JSON (callers add their latency summary)."""
        cpu, decided = self.cpu_s, self.tally.decided
        return {
            **self.tally.as_dict(),
            "wall_s": round(self.wall_s, 3),
            "posts_per_s": self.posts_per_s,
            # CPU per post is not inflated by other work on the machine, unlike wall time.
            "service_cpu_us_per_post": round(cpu / decided * 1e6, 1) if cpu and decided else None,
            "posts_per_service_cpu_s": rate(decided, cpu) if cpu else None,
        }

    def latency_ms(self) -> dict[str, float]:
        """The latency summary in milliseconds."""
        return latency_summary_ms(self.latencies)


def measure(service: Service, send: Callable[[Tally], list[float]]) -> Phase:
    """Run `send` as one phase, timing it and reading the service's CPU time around it."""
    phase = Phase()
    cpu = service.cpu_seconds()
    start = time.perf_counter()
    phase.latencies = send(phase.tally)
    phase.wall_s = time.perf_counter() - start
    after = service.cpu_seconds()
    phase.cpu_s = after - cpu if cpu is not None and after is not None else None
    return phase


def create_accounts(client: httpx.Client, accounts: list[Record]) -> int:
    """Create every account (201, or 200 when it is already there); returns how many."""
    for account in accounts:
        r = client.post("/v1/accounts", content=encode(account))
        if r.status_code not in (200, 201):
            raise RuntimeError(f"POST /v1/accounts {account['platform_id']}: {r.status_code} {r.text[:300]}")
    return len(accounts)


def send_singles(client: httpx.Client, posts: list[Record], tally: Tally) -> list[float]:
    """POST each post on its own, in order; returns each request's latency in seconds."""
    bodies = [encode(p) for p in posts]
    latencies: list[float] = []
    clock = time.perf_counter
    for post, body in zip(posts, bodies, strict=True):
        start = clock()
        r = client.post("/v1/posts", content=body)
        latencies.append(clock() - start)
        if r.status_code != 201:
            tally.failure(1, post["platform_id"], f"{r.status_code} {r.text}")
            continue
        data = r.json()
        tally.item(bool(data.get("created")), data.get("decision"), post["platform_id"])
    return latencies


def send_batches(client: httpx.Client, batches: list[list[Record]], tally: Tally) -> list[float]:
    """POST each batch; returns each request's latency in seconds."""
    bodies = [encode({"posts": b}) for b in batches]
    latencies: list[float] = []
    for n, (batch, body) in enumerate(zip(batches, bodies, strict=True)):
        start = time.perf_counter()
        r = client.post("/v1/posts/batch", content=body)
        latencies.append(time.perf_counter() - start)
        if r.status_code != 200:
            tally.failure(len(batch), f"batch {n}", f"{r.status_code} {r.text}")
            continue
        results = r.json().get("results", [])
        if len(results) != len(batch):
            tally.failure(len(batch), f"batch {n}", f"{len(results)} results for {len(batch)} posts")
            continue
        for item in results:
            where = f"batch {n} item {item.get('index')}"
            tally.item(item.get("status") == "created", item.get("decision"), where)
    return latencies


def send_concurrent(base_url: str, token: str, slices: list[list[Record]], tally: Tally) -> list[float]:
    """One client thread (own connection) per slice of single posts, released together; every latency."""
    per_thread: list[list[float]] = [[] for _ in slices]
    tallies = [Tally() for _ in slices]
    problems: list[BaseException] = []
    barrier = threading.Barrier(len(slices) + 1)

    def worker(k: int) -> None:
        try:
            with http_client(base_url, token) as client:
                client.get("/healthz")  # open the connection before the others are released
                barrier.wait()
                per_thread[k] = send_singles(client, slices[k], tallies[k])
        except BaseException as exc:  # re-raised in the caller's thread after the join
            problems.append(exc)
            barrier.abort()

    threads = [
        threading.Thread(target=worker, args=(k,), name=f"bench-client-{k}") for k in range(len(slices))
    ]
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass  # a worker failed; it is reported below
    for t in threads:
        t.join()
    if problems:
        raise RuntimeError(f"a concurrent client failed: {problems[0]!r}")
    for part in tallies:
        tally.merge(part)
    return [x for lat in per_thread for x in lat]


def db_counts(path: Path) -> dict[str, int]:
    """Rows the service left behind, read after it stopped."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    queries = {
        "posts": "SELECT count(*) FROM posts WHERE platform_id LIKE 'bench-%'",
        "live_verdicts": "SELECT count(*) FROM verdicts v JOIN posts p ON p.id = v.post_id "
        "WHERE v.mode = 'live' AND p.platform_id LIKE 'bench-%'",
        "events": "SELECT count(*) FROM events",
        "signals": "SELECT count(*) FROM signals",
        "actions": "SELECT count(*) FROM actions",
    }
    try:
        return {name: int(conn.execute(sql).fetchone()[0]) for name, sql in queries.items()}
    finally:
        conn.close()
