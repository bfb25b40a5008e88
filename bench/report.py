# ruff: noqa: E501  (the generator is one SQL script; its lines are kept whole for reading)
"""Build a 30-day DSA transparency report over 1,000,000 posts and their events; time and peak memory.

The data set is generated inside SQLite with set-based INSERT ... SELECT over a recursive counter (no
Python loop over rows): accounts, posts and one post.created event each, 5% of posts actioned across
every policy and rung, account suspensions and bans, reports with cases and outcomes, QA samples with
decisions, and appeals with outcomes. The report is then built by the real CLI in a child process
(`townsquare report transparency`), whose wall time and peak RSS (ru_maxrss) are measured.

    nice -n 10 python bench/report.py [--posts 1000000] [--db /tmp/ts-bench-report.db] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from townsquare.cli.db import upgrade  # noqa: E402
from townsquare.enforcement.dsa import POLICY_DSA  # noqa: E402

START = "2026-11-01 00:00:00"
PERIOD = ("2026-11-01", "2026-11-30")
POLICIES = list(POLICY_DSA)
RUNGS = ["label", "reduce_reach", "demonetise", "remove"]


def _case_list(values: list[str], expr: str) -> str:
    """A SQL CASE picking values[expr % len(values)]."""
    whens = " ".join(f"WHEN {i} THEN '{v}'" for i, v in enumerate(values))
    return f"(CASE ({expr}) % {len(values)} {whens} END)"


def generate(db: Path, posts: int) -> dict[str, int]:
    """Fill a migrated database; every table in one set-based statement."""
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    accounts = max(posts // 20, 10)
    seconds = 30 * 86400
    policy = _case_list(POLICIES, "n / 20")
    rung = _case_list(RUNGS, "n / 7")
    reason = _case_list([*POLICIES, "other"], "n")
    sql = f"""
    INSERT INTO staff_users (username, display_name, kind, must_change_password, status, failed_logins,
        created_at, created_by) VALUES ('bench-moderator', '', 'person', 0, 'active', 0, '{START}', 'bench');
    WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {accounts})
    INSERT INTO accounts (id, platform_id, handle, display_name, bio, links, created_at, follower_count, verified,
        protected, standing, profile_version, ingested_at, probation_bonus)
    SELECT n, 'acct-' || n, 'user' || n, '', '', '[]', '2025-01-01 00:00:00', n % 5000, 0, 0, 'good', 1,
        '2025-01-01 00:00:00', 0 FROM c;
    WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {posts})
    INSERT INTO posts (id, platform_id, author_id, text, language, created_at, status, version, views, ingested_at)
    SELECT n, 'post-' || n, 1 + n % {accounts}, 'bench post number ' || n || ' about the weather and the news',
        'en', datetime('{START}', '+' || (n * {seconds} / {posts}) || ' seconds'), 'visible', 1, n % 997,
        datetime('{START}', '+' || (n * {seconds} / {posts}) || ' seconds') FROM c;
    WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {posts // 1000 + 1})
    INSERT INTO event_batches (id, created_at, event_count, merkle_root)
    SELECT n, datetime('{START}', '+' || (n * 1000 * {seconds} / {posts}) || ' seconds'), 1000,
        lower(hex(randomblob(32))) FROM c;
    INSERT INTO events (batch_id, idx, occurred_at, type, actor, subject_type, subject_id, body, leaf_hash)
    SELECT 1 + id / 1000, id % 1000, created_at, 'post.created', 'service:bench', 'post', platform_id,
        '{{"type":"post.created","subject":{{"id":"' || platform_id || '"}}}}', lower(hex(randomblob(32)))
    FROM posts;
    INSERT INTO actions (id, puid, action_type, target_type, post_id, account_id, policy, policy_version, automated,
        source, actor, reason, status, created_at, statement, evidence)
    SELECT n, 'bench-' || n, {rung}, 'post', n, 1 + n % {accounts}, {policy}, 1, (n / 20) % 3 != 0,
        CASE WHEN n % 9 = 0 THEN 'notice' ELSE 'voluntary' END, 'bench', '',
        CASE WHEN n % 40 = 0 THEN 'reversed' ELSE 'active' END,
        datetime('{START}', '+' || (n * {seconds} / {posts} + 600) || ' seconds'),
        json_object('automated_detection', CASE WHEN (n / 20) % 3 != 0 OR n % 2 = 0 THEN 'Yes' ELSE 'No' END),
        '[]'
    FROM (SELECT id AS n FROM posts WHERE id % 20 = 0);
    INSERT INTO actions (puid, action_type, target_type, account_id, policy, policy_version, automated, source,
        actor, reason, status, created_at, ends_at, statement, evidence)
    SELECT 'bench-acct-' || id, CASE WHEN id % 1000 = 0 THEN 'ban' ELSE 'suspend' END, 'account', author_id,
        {_case_list(POLICIES, "id / 500")}, 1, 0, 'voluntary', 'bench', '', 'active', created_at,
        CASE WHEN id % 1000 = 0 THEN NULL ELSE datetime(created_at, '+7 days') END,
        json_object('automated_detection', 'No'), '[]'
    FROM posts WHERE id % 500 = 0;
    INSERT INTO reports (id, platform_id, reporter_id, subject_type, subject_id, reason, text, created_at)
    SELECT n, 'report-' || n, 1 + (n * 7) % {accounts}, 'post', n, {reason}, '',
        datetime('{START}', '+' || (n * {seconds} / {posts} + 60) || ' seconds')
    FROM (SELECT id AS n FROM posts WHERE id % 30 = 0);
    INSERT INTO cases (id, subject_type, post_id, account_id, kind, queue, state, opened_reason, reasons, severity,
        score, report_count, report_reasons, trusted_flagger, priority, priority_inputs, excluded_reviewers,
        opened_at, decided_at, revision, policy, action_id)
    SELECT r.id, 'post', r.subject_id, 1 + r.subject_id % {accounts}, 'review', 'general', 'decided', 'reports',
        '[]', 'medium', 0.5, 1, '[]', r.id % 11 = 0, 1.0, '{{}}', '[]', r.created_at,
        datetime(r.created_at, '+' || (1 + r.id % 48) || ' hours'), 1, NULL, NULL
    FROM reports r;
    INSERT INTO report_outcomes (report_id, case_id, reporter_id, source, suspicious, outcome, decided_at)
    SELECT r.id, r.id, r.reporter_id, CASE WHEN r.id % 11 = 0 THEN 'trusted_flagger' ELSE 'user' END, 0,
        CASE WHEN r.id % 3 = 0 THEN 'upheld' WHEN r.id % 3 = 1 THEN 'rejected' ELSE NULL END,
        CASE WHEN r.id % 3 = 2 THEN NULL ELSE datetime(r.created_at, '+' || (1 + r.id % 48) || ' hours') END
    FROM reports r;
    INSERT INTO case_decisions (case_id, kind, reviewer_id, outcome, policy, action, reason, decided_at)
    SELECT c.id, 'review', 1, CASE WHEN c.id % 4 = 0 THEN 'violation' ELSE 'no_violation' END, NULL, NULL, '',
        c.decided_at FROM cases c;
    INSERT INTO cases (subject_type, post_id, account_id, kind, queue, state, opened_reason, reasons, severity,
        score, report_count, report_reasons, trusted_flagger, priority, priority_inputs, excluded_reviewers,
        opened_at, decided_at, revision, policy, action_id)
    SELECT 'post', a.post_id, a.account_id, 'automation_qa', 'quality', 'decided', 'qa_sample', '[]', 'medium',
        0.97, 0, '[]', 0, 1.0, '{{}}', '[]', a.created_at, datetime(a.created_at, '+5 hours'), 1, a.policy, a.id
    FROM actions a WHERE a.automated = 1 AND a.id % 50 = 0;
    INSERT INTO case_decisions (case_id, kind, reviewer_id, outcome, policy, action, reason, decided_at)
    SELECT c.id, 'automation_qa', 1, CASE WHEN c.id % 10 = 0 THEN 'no_violation' ELSE 'violation' END,
        c.policy, NULL, '', c.decided_at FROM cases c WHERE c.kind = 'automation_qa';
    INSERT INTO appeals (public_id, kind, action_id, account_id, policy, original_source, original_actor,
        statement, channel, state, outcome, result, excluded_reviewers, created_at, sla_due_at, decided_at)
    SELECT 'ap-' || a.id, 'action', a.id, a.account_id, a.policy,
        CASE WHEN a.automated THEN 'automated' ELSE 'human' END, 'bench', '', 'api', 'decided',
        {_case_list(["upheld", "overturned", "modified", "upheld"], "a.id / 10")}, '{{}}', '[]', a.created_at,
        datetime(a.created_at, '+7 days'), datetime(a.created_at, '+' || (2 + a.id % 90) || ' hours')
    FROM actions a WHERE a.id % 200 = 0 AND a.post_id IS NOT NULL;
    """
    con.executescript(sql)
    con.commit()
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
              for t in ("posts", "events", "actions", "reports", "cases", "appeals")}  # fmt: skip
    con.close()
    return counts


def build_once(db: Path, out: Path) -> tuple[float, float]:
    """Run the CLI in a child process: (wall seconds, peak RSS in MiB)."""
    env = {**os.environ, "TOWNSQUARE_DATABASE_URL": f"sqlite:///{db}", "TOWNSQUARE_MODELS_ENABLED": "false",
           "PYTHONPATH": str(ROOT / "src")}  # fmt: skip
    cmd = [sys.executable, "-m", "townsquare.cli.main", "report", "transparency", "--from", PERIOD[0], "--to",
           PERIOD[1], "--output", str(out)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    output = proc.stdout.read().decode() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"report failed: {output}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    """Generate (once) and build the report `--repeat` times; write bench/results/report.json."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--posts", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "ts-bench-report.db")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "report.json")
    args = ap.parse_args()
    if args.db.exists():
        args.db.unlink()
    upgrade(f"sqlite:///{args.db}")
    t0 = time.perf_counter()
    counts = generate(args.db, args.posts)
    gen_s = time.perf_counter() - t0
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            runs.append(build_once(args.db, Path(tmp) / f"r{i}"))
        figures = json.loads((Path(tmp) / "r0" / "report.json").read_text())["figures"]
    walls, rss = [w for w, _ in runs], [m for _, m in runs]
    result = {
        "benchmark": "30-day DSA transparency report (CLI, SQLite)",
        "posts": args.posts,
        "rows": counts,
        "generate_s": round(gen_s, 1),
        "build_s": [round(w, 2) for w in walls],
        "build_s_median": round(statistics.median(walls), 2),
        "peak_rss_mib": [round(m, 1) for m in rss],
        "peak_rss_mib_max": round(max(rss), 1),
        "targets": {"build_s": 60, "peak_rss_mib": 1024},
        "met": statistics.median(walls) <= 60 and max(rss) <= 1024,
        "check": {
            "notices": figures["notices"]["received"],
            "measures_terms": figures["own_initiative_terms"]["measures"],
        },
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "note": "shared, loaded machine",
        },
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    args.db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
