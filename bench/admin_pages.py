#!/usr/bin/env python
"""Page speed of the admin, approvals, home, audit and public pages with 10,000 open cases in the queues.

A migrated SQLite database gets 10,000 open cases spread over the queues, staff users, pending approvals,
freezes, break-glass grants and a few thousand events; an admin logs in (a real session cookie) and every
page is fetched in-process through the ASGI app (routing, authentication, queries, templates), `--repeats`
times after a warm-up. The JSON (default bench/results/admin_pages.json) holds p50/p90/p95/p99 per page and
the machine. The figures are reported, never asserted.

Run: `.venv/bin/python bench/admin_pages.py [--cases 10000] [--repeats 40] [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from bench_common import latency_summary_ms, machine, percentile
from townsquare.access import breakglass, freeze, service, staff
from townsquare.access.roles import permissions_of
from townsquare.app import create_app
from townsquare.cli.db import upgrade
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.content.accounts import create_account
from townsquare.content.schemas import AccountCreate
from townsquare.db import transaction
from townsquare.eventlog import events
from townsquare.review.models import Case
from townsquare.runtime import Runtime, build_runtime

DEFAULT_OUT = PROJECT_ROOT / "bench" / "results" / "admin_pages.json"
PASSWORD = "correct horse battery staple"
QUEUES = ("threats", "hate", "misinformation", "scams_spam", "general", "senior", "high_reach")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description="Admin and home page latency with many open cases.")
    p.add_argument("--cases", type=int, default=10_000, help="open cases (default 10000)")
    p.add_argument("--users", type=int, default=60, help="staff users, each with a pending admin grant")
    p.add_argument("--events", type=int, default=3_000, help="extra events in the log")
    p.add_argument("--repeats", type=int, default=40, help="timed requests per page")
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--out", "-o", type=Path, default=DEFAULT_OUT)
    p.add_argument("--quick", action="store_true", help="1,000 cases, 10 repeats")
    args = p.parse_args(argv)
    if args.quick:
        args.cases, args.repeats, args.events = 1_000, 10, 300
    return args


def _runtime(folder: Path) -> Runtime:
    url = f"sqlite:///{folder / 'townsquare.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        signing_key_path=folder / "keys" / "checkpoint.ed25519",
        checkpoint_log_path=folder / "keys" / "checkpoints.jsonl",
        link_key_path=folder / "keys" / "links.key",
        webhook_secret_path=folder / "keys" / "webhook.secret",
        models_enabled=False,
        cookie_secure=False,
    )
    return build_runtime(settings)


def seed(rt: Runtime, args: argparse.Namespace) -> None:
    """Open cases, people, approvals, freezes, break-glass grants and events."""
    rng = random.Random(args.seed)
    now = rt.now()
    with transaction(rt.sessions) as session:
        account, _ = create_account(
            session,
            rt,
            AccountCreate(platform_id="acct-bench", handle="bench", created_at=now, follower_count=10),
            "bench",
        )
        for n in range(args.cases):
            session.add(
                Case(
                    subject_type="account",
                    account_id=account.id,
                    kind="report",
                    queue=QUEUES[n % len(QUEUES)],
                    state="open",
                    opened_reason="report",
                    priority=rng.random(),
                    opened_at=now - timedelta(minutes=rng.randint(1, 60 * 72)),
                )
            )
        ada = service.create_user(session, username="ada", actor="bench", now=now, password=PASSWORD)
        service.grant_role(session, None, ada, "admin", actor="bench", now=now)
        who = service.Principal(
            actor="user:ada", permissions=permissions_of({"admin"}), user_id=ada.id, username="ada"
        )
        for n in range(args.users):
            user = service.create_user(
                session, username=f"staff{n}", actor="bench", now=now, password=PASSWORD
            )
            service.grant_role(session, None, user, "moderator", actor="bench", now=now)
            staff.grant(session, rt, who, user.username, "admin", reason="bench")
            if n < 20:
                freeze.freeze_user(session, rt, who, user.username, "bench", hours=4)
            elif n < 40:
                breakglass.break_glass(session, rt, who, user.username, "triage", 60, "bench")
        for n in range(args.events):
            events.record(
                session, "note.added", actor=f"user:staff{n % args.users}", subject_type="case",
                subject_id=str(n % max(args.cases, 1) + 1), at=now, reason="bench", payload={"n": n},
            )  # fmt: skip


PAGES = (
    "/",
    "/admin/users",
    "/admin/users/staff1",
    "/approvals",
    "/approvals/1",
    "/admin/freezes",
    "/admin/breakglass",
    "/tokens",
    "/audit",
    "/audit?actor=staff3",
    "/public/reinstatements",
    "/review",
)


def measure(rt: Runtime, repeats: int) -> dict[str, Any]:
    """p50/p90/p95/p99 per page, in milliseconds."""
    app = create_app(runtime=rt, keep_chain=False)
    out: dict[str, Any] = {}
    with TestClient(app, base_url="http://testserver") as c:
        assert c.post("/v1/auth/login", json={"username": "ada", "password": PASSWORD}).status_code == 200
        for path in PAGES:
            for _ in range(3):
                assert c.get(path, headers={"Accept": "text/html"}).status_code == 200, path
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                resp = c.get(path, headers={"Accept": "text/html"})
                seconds.append(time.perf_counter() - start)
                assert resp.status_code == 200, (path, resp.status_code)
            out[path] = latency_summary_ms(seconds) | {"p95": round(percentile(seconds, 95) * 1000, 3)}
            print(f"{path:28} p50 {out[path]['p50']:8.1f} ms  p95 {out[path]['p95']:8.1f} ms")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """Seed, measure, write the JSON."""
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ts-admin-pages-") as tmp:
        rt = _runtime(Path(tmp))
        try:
            began = time.perf_counter()
            seed(rt, args)
            seeded = time.perf_counter() - began
            pages = measure(rt, args.repeats)
        finally:
            rt.dispose()
    result = {
        "benchmark": "admin_pages",
        "params": {k: v for k, v in vars(args).items() if k != "out"} | {"out": str(args.out)},
        "seed_seconds": round(seeded, 2),
        "pages_ms": pages,
        "slowest_p95_ms": max(p["p95"] for p in pages.values()),
        "machine": machine(),
        "note": "in-process ASGI requests on SQLite; the machine is shared by other jobs, so medians vary",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
