#!/usr/bin/env python
"""Harm-prevented benchmark of the review workbench: how much of violating posts' exposure is prevented.

A labelled stream built from the datasets' test splits (5 % violating) is replayed over 24 simulated hours
through the real pipeline, in-process, on a fresh SQLite database per variant:

* every simulated minute, the posts created in it are ingested as one batch (`pipeline.ingest.ingest_batch`:
  scored by the text banks and the fast models, decided, enforced; uncertain posts open review cases);
* every 15 simulated minutes, the current cumulative views of every post with an open case are sent
  (`pipeline.changes.record_metrics`), which re-prioritises those cases (nothing from the future);
* at a fixed review capacity (a share of post volume, spread evenly over the day), a simulated senior
  moderator takes the next case (`review.service.next_case`, by priority or first-in-first-out) and decides
  it 60 s later (`review.service.decide`), following the dataset label except on 5 % of decisions.

Each post's lifetime views V are lognormal (median 200, sigma 2) and accrue with a two-hour half-life, so a
post removed at age a had V·2^(−a/2h) views still to come: those are prevented. `views_prevented` is the
share of all violating posts' views prevented, by automated removals at ingest and by reviewers' removals.

Run: `.venv/bin/python bench/exposure.py [--quick] [--posts N] [--seed S] [--out PATH]`; bench/README.md
explains the output.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import func, select

import exposure_metrics as em
import ground_truth
from bench_common import load_average, machine
from townsquare.access import service as access
from townsquare.cli.db import upgrade
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.content import accounts as account_service
from townsquare.content.models import Post
from townsquare.content.schemas import AccountCreate, MetricsBatch, PostCreate
from townsquare.db import transaction
from townsquare.detection.training.datasets import load_task
from townsquare.errors import TownsquareError
from townsquare.pipeline import changes, ingest
from townsquare.policy.models import Verdict
from townsquare.policy.service import sync_versions
from townsquare.review import service as review
from townsquare.review.models import OPEN_STATES, Case
from townsquare.runtime import Runtime, build_runtime

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "exposure.json"
TASKS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")
DAY_S = 24 * 3600
HALF_LIFE_S = 2 * 3600.0
BATCH_EVERY_S = 60
METRICS_EVERY_S = 15 * 60
DECISION_S = 60
VIOLATING_SHARE = 0.05
VIEWS_MEDIAN, VIEWS_SIGMA = 200.0, 2.0
FOLLOWERS_MEDIAN, FOLLOWERS_SIGMA = 200.0, 2.0
REVIEWER_ERROR = 0.05
CAPACITIES = (0.005, 0.01, 0.02)
ORDERS = {"prioritised": "priority", "fifo": "fifo"}


def variants(semantic: bool, fifo: bool = True, semantic_off: bool = True) -> dict[str, str]:
    """Variant name -> "order[+semantic]": the semantic tier on (as `make demo`) and one prioritised
    variant with it off for comparison; `--no-semantic` runs the two orders with it off; `--no-fifo`
    leaves the first-in-first-out comparison out, `--no-semantic-off` the semantic-off one."""
    out = (
        dict(ORDERS)
        if not semantic
        else {
            "prioritised": "priority+semantic",
            "fifo": "fifo+semantic",
            "prioritised_semantic_off": "priority",
        }
    )
    drop = {"fifo"} if not fifo else set()
    drop |= set() if semantic_off else {"prioritised_semantic_off"}
    return {k: v for k, v in out.items() if k not in drop}


TARGET_VIEWS_PREVENTED = 0.70
TARGET_VIEWS_PREVENTED_HALF = 0.55  # at 0.5 % capacity
TARGET_WRONGFUL_AUTOMATED = 0.02  # of automated actions
TARGET_REVIEWED_RATIO = 1.5
DEFAULTS = {"posts": 50_000, "accounts": 3_000, "seed": 20261121}
QUICK = {"posts": 1_000, "accounts": 100}
# Outside every election period in elections.yaml, so the stricter election thresholds stay off.
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
ACTOR = "service:bench-exposure"
REVIEWER = "bench-reviewer"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (`--quick`: 1,000 posts and 100 accounts)."""
    p = argparse.ArgumentParser(description="Exposure (harm prevented) benchmark of the review workbench.")
    add = p.add_argument
    add("--posts", "-n", type=int, help=f"posts in the 24-hour stream (default {DEFAULTS['posts']})")
    add("--accounts", type=int, help=f"authors in the pool (default {DEFAULTS['accounts']})")
    add(
        "--seed",
        type=int,
        help=f"seed of the stream, the views and the reviewer's errors ({DEFAULTS['seed']})",
    )
    add(
        "--data-dir",
        type=Path,
        help="datasets folder (default $TOWNSQUARE_DATA_DIR, else ../shared/datasets)",
    )
    add("--out", "-o", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT})")
    add(
        "--quick",
        action="store_true",
        help="1,000 posts and 100 accounts over 24 h (a few minutes on a busy 2-core box)",
    )
    add("--jobs", "-j", type=int, default=1, help="variants run at once, each in its own process (default 1)")
    add("--profile", action="store_true", help="cProfile the first variant; .pstats next to --out (--jobs 1)")
    add("--keep", action="store_true", help="keep the temporary folder (the databases)")
    add(
        "--capacities",
        type=lambda v: tuple(float(x) for x in v.split(",")),
        default=CAPACITIES,
        help="review capacities (shares of posts), comma-separated; must include 0.005 and 0.01",
    )
    add("--no-fifo", dest="fifo", action="store_false", help="leave the first-in-first-out variants out")
    add(
        "--no-semantic-off",
        dest="semantic_off",
        action="store_false",
        help="leave the prioritised variant with the semantic tier off out (a cheaper run)",
    )
    add(
        "--no-semantic",
        dest="semantic",
        action="store_false",
        help="semantic tier off in every variant (default: on, plus one prioritised variant with it off)",
    )
    args = p.parse_args(argv)
    base = {**DEFAULTS, **(QUICK if args.quick else {})}
    for key in DEFAULTS:
        if getattr(args, key) is None:
            setattr(args, key, base[key])
    if args.posts < 100 or args.accounts < 1 or args.jobs < 1:
        p.error("--posts must be at least 100, --accounts and --jobs at least 1")
    if not {0.005, 0.01} <= set(args.capacities):
        p.error("--capacities must include 0.005 and 0.01 (the targets are read there)")
    if args.profile and args.jobs > 1:
        p.error("--profile needs --jobs 1")
    if args.data_dir is None:
        env = os.environ.get("TOWNSQUARE_DATA_DIR")
        args.data_dir = Path(env) if env else PROJECT_ROOT.parent / "shared" / "datasets"
    return args


# --- the labelled stream --------------------------------------------------------------------------------


@dataclass
class Pools:
    """Distinct test-split texts, violating and not under the policy-matched ground truth, and how they
    were resolved; `old_violating` holds the texts the old any-label definition counted violating."""

    violating: list[str]
    benign: list[str]
    test_rows: int
    conflicting: int  # test texts labelled 1 by one task or split and 0 by another (old: violating)
    unusable: int  # texts the ingest API would refuse (empty, too long, NUL)
    old_violating: set[str] = field(default_factory=set)
    policies: dict[str, frozenset[str]] = field(default_factory=dict)  # violating text -> areas
    ground_truth: dict[str, Any] = field(default_factory=dict)  # how the new definition resolved them


def _usable(text: str) -> bool:
    try:
        PostCreate.model_validate({"platform_id": "x", "author": "a", "text": text, "created_at": START})
    except ValidationError:
        return False
    return len(text) <= Settings.model_fields["max_text_chars"].default


def load_pools(data_dir: Path) -> Pools:
    """The distinct texts of every task's test split, labelled by the policy-matched ground truth.

    New definition (`bench/ground_truth.yaml`): a text is violating when its datasets' labels map to a
    live policy, benign when they map to none; ambiguous, contested and unmapped texts are left out.
    Old definition, kept for comparison: violating when any task labels it 1 in any split.
    """
    labels: dict[str, set[int]] = {}
    test: set[str] = set()
    rows = 0
    for task in TASKS:
        data = load_task(task, data_dir)
        for split in ("train", "val", "test"):
            for row in data.rows(split):
                labels.setdefault(row.text, set()).add(int(row.label == 1))
        for row in data.rows("test"):
            test.add(row.text)
            rows += 1
    usable = {t: labels[t] for t in test if _usable(t)}
    truth = ground_truth.build(data_dir)
    policies: dict[str, frozenset[str]] = {}
    benign: list[str] = []
    left_out: Counter[str] = Counter()
    for t in sorted(usable):
        found = truth.policies(t)
        if found is None:
            left_out["contested" if truth.contested(t) else "ambiguous_or_unmapped"] += 1
        elif found:
            policies[t] = found
        else:
            benign.append(t)
    by_policy = Counter(a for areas in policies.values() for a in areas)
    return Pools(
        violating=sorted(policies),
        benign=benign,
        test_rows=rows,
        conflicting=sum(1 for v in usable.values() if len(v) > 1),
        unusable=len(test) - len(usable),
        old_violating={t for t, v in usable.items() if 1 in v},
        policies=policies,
        ground_truth={
            "mapping": "bench/ground_truth.yaml",
            "violating_texts": len(policies),
            "benign_texts": len(benign),
            "left_out": dict(sorted(left_out.items())),
            "violating_texts_by_policy": dict(sorted(by_policy.items())),
            "old_violating_now_benign": sum(1 for t in benign if t in usable and 1 in usable[t]),
            "old_benign_now_violating": sum(1 for t in policies if usable[t] == {0}),
        },
    )


@dataclass
class Stream:
    """The posts (sorted by creation time) and the accounts, as numpy arrays."""

    created_s: np.ndarray  # seconds after START
    violating: np.ndarray  # bool
    texts: list[str]
    views: np.ndarray  # lifetime views V
    author: np.ndarray  # index into followers
    followers: np.ndarray
    errors: np.ndarray  # bool per decision index: the reviewer decides the opposite of the label
    old_violating: np.ndarray  # bool: violating under the old any-label definition


def make_stream(pools: Pools, n: int, n_accounts: int, max_decisions: int, seed: int) -> Stream:
    """Uniform arrival times, exactly 5 % violating, lognormal views and followers; all seeded."""
    rng = np.random.default_rng(seed)
    created = np.sort(rng.uniform(0, DAY_S, n))
    violating = np.zeros(n, dtype=bool)
    violating[rng.choice(n, round(VIOLATING_SHARE * n), replace=False)] = True
    bad = rng.integers(len(pools.violating), size=n)
    good = rng.integers(len(pools.benign), size=n)
    texts = [pools.violating[bad[i]] if violating[i] else pools.benign[good[i]] for i in range(n)]
    views = rng.lognormal(math.log(VIEWS_MEDIAN), VIEWS_SIGMA, n)
    author = rng.integers(n_accounts, size=n)
    followers = np.floor(rng.lognormal(math.log(FOLLOWERS_MEDIAN), FOLLOWERS_SIGMA, n_accounts)).astype(int)
    errors = np.random.default_rng([seed, 1]).random(max_decisions) < REVIEWER_ERROR
    old = np.fromiter((t in pools.old_violating for t in texts), dtype=bool, count=n)
    return Stream(created, violating, texts, views, author, followers, errors, old)


def views_by_age(total: np.ndarray, age_s: np.ndarray) -> np.ndarray:
    """Cumulative views at age a: V·(1 − 2^(−a/2h))."""
    return total * -np.expm1(-np.log(2) * np.maximum(age_s, 0.0) / HALF_LIFE_S)


def remaining_views(total: np.ndarray, age_s: np.ndarray) -> np.ndarray:
    """Views still to come at age a: V·2^(−a/2h)."""
    return total * np.exp2(-np.maximum(age_s, 0.0) / HALF_LIFE_S)


def pid(i: int) -> str:
    """Platform id of post i."""
    return f"exp-{i:07d}"


def account_pid(a: int) -> str:
    """Platform id of account a."""
    return f"exp-acct-{a:05d}"


# --- databases and runtimes ------------------------------------------------------------------------------


class Clock:
    """The simulated clock every runtime reads."""

    def __init__(self) -> None:
        self.now = START - timedelta(hours=1)

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> None:
        """Move to `seconds` after START."""
        self.now = START + timedelta(seconds=seconds)


def settings_for(folder: Path, semantic: bool = False) -> Settings:
    """Fast-tier models on, the semantic tier as asked, no second reviews and no automation samples."""
    return Settings(
        database_url=f"sqlite:///{folder / 'townsquare.db'}",
        signing_key_path=folder / "keys" / "checkpoint.ed25519",
        checkpoint_log_path=folder / "keys" / "checkpoints.jsonl",
        models_enabled=True,
        semantic=semantic,
        second_review_rate=0.0,
        automation_qa_rate=0.0,
    )


def build_template(folder: Path, stream: Stream, clock: Clock) -> str:
    """A migrated database with the policy versions, the authors and the reviewer; returns its token."""
    folder.mkdir(parents=True)
    settings = settings_for(folder)
    upgrade(settings.database_url)
    rt = build_runtime(settings, clock=clock)
    try:
        with transaction(rt.sessions) as session:
            sync_versions(session, rt)
            for a, followers in enumerate(stream.followers.tolist()):
                data = AccountCreate(
                    platform_id=account_pid(a),
                    handle=f"author{a}",
                    created_at=START - timedelta(days=365),
                    follower_count=followers,
                )
                account_service.create_account(session, rt, data, ACTOR)
            # A staff reviewer, created as tests/conftest.py's seed_user does.
            now = rt.now()
            user = access.create_user(session, username=REVIEWER, actor=ACTOR, now=now, kind="person")
            access.grant_role(session, None, user, "senior_moderator", actor=ACTOR, now=now)
            token, _ = access.create_token(
                session, user, name="bench", scopes=None, days=30, actor=ACTOR, now=now
            )
    finally:
        rt.dispose()
    return token


def copy_database(template: Path, target: Path) -> None:
    """A consistent copy of the template database (SQLite's backup API, WAL included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src, dst = sqlite3.connect(template), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


# --- one variant: a capacity and an ordering -------------------------------------------------------------


@dataclass
class Outcome:
    """What happened to the posts in one variant."""

    removed_at: np.ndarray  # seconds after START, NaN when never removed
    auto_removed: np.ndarray
    human_removed: np.ndarray
    reviewed: np.ndarray  # had a review case
    ingest_outcomes: Counter[str] = field(default_factory=Counter)
    automated: Counter[str] = field(default_factory=Counter)  # automated actions by type
    wrongful_automated_any: int = 0  # automated actions of any type on non-violating posts
    decisions: int = 0
    decisions_by_kind: Counter[str] = field(default_factory=Counter)
    idle_slots: int = 0
    wrongful_human: int = 0
    missed_human: int = 0  # violating posts a reviewer decided were fine
    decision_errors: list[str] = field(default_factory=list)
    cases_by_kind: dict[str, int] = field(default_factory=dict)
    open_at_end: int = 0
    snapshots: int = 0
    time_s: Counter[str] = field(default_factory=Counter)
    case_labels: list[tuple[str, int]] = field(default_factory=list)  # (kind, label post) per case
    case_rules: list[tuple[str, int]] = field(default_factory=list)  # ("policy|scorer", post) per review case
    queue_samples: list[tuple[int, dict[str, tuple[int, list[int]]]]] = field(default_factory=list)


@dataclass
class Taken:
    """A case a reviewer is working."""

    case_id: int
    revision: int
    kind: str
    policy: str | None
    proposed: str | None
    post: int | None  # index of the case's post
    label_post: int | None  # the post whose label decides (an account case's triggering post)


def _index(platform_id: str) -> int:
    return int(platform_id.removeprefix("exp-"))


class Replay:
    """Replays the stream through one runtime at one capacity and ordering."""

    def __init__(self, rt: Runtime, clock: Clock, stream: Stream, token: str, decisions: int, order: str):
        self.rt, self.clock, self.s, self.token, self.order = rt, clock, stream, token, order
        self.n_decisions = decisions
        n = len(stream.created_s)
        self.out = Outcome(
            removed_at=np.full(n, np.nan),
            auto_removed=np.zeros(n, dtype=bool),
            human_removed=np.zeros(n, dtype=bool),
            reviewed=np.zeros(n, dtype=bool),
        )
        self.working: dict[int, Taken] = {}

    def schedule(self) -> list[tuple[float, int, str, int]]:
        """(time, tie-break, kind, argument): batches, snapshots, takes and decisions over the day."""
        events = [(float(BATCH_EVERY_S * (m + 1)), 0, "ingest", m) for m in range(DAY_S // BATCH_EVERY_S)]
        events += [
            (float(METRICS_EVERY_S * j), 1, "metrics", j) for j in range(1, DAY_S // METRICS_EVERY_S + 1)
        ]
        # Hourly, after that moment's batch, snapshot, take and decision: each queue's top 50.
        events += [(3600.0 * h, 4, "sample", h) for h in range(1, DAY_S // 3600 + 1)]
        if self.n_decisions:
            spacing = DAY_S / self.n_decisions
            for k in range(self.n_decisions):
                start = (k + 0.5) * spacing
                events += [(start, 3, "take", k), (start + DECISION_S, 2, "decide", k)]
        return sorted(events)

    def run(self) -> Outcome:
        bounds = np.searchsorted(self.s.created_s, np.arange(0, DAY_S + 1, BATCH_EVERY_S), side="left")
        bounds[-1] = len(self.s.created_s)
        handlers: dict[str, Callable[[int], None]] = {
            "ingest": lambda m: self.ingest(int(bounds[m]), int(bounds[m + 1])),
            "metrics": lambda _: self.metrics(),
            "take": self.take,
            "decide": self.decide,
            "sample": self.sample,
        }
        for at, _, kind, arg in self.schedule():
            self.clock.at(at)
            start = time.perf_counter()
            handlers[kind](arg)
            self.out.time_s[kind] += time.perf_counter() - start
        start = time.perf_counter()
        self.finish()
        self.out.time_s["finish"] += time.perf_counter() - start
        return self.out

    def ingest(self, lo: int, hi: int) -> None:
        """One batch: the posts created in the last simulated minute."""
        if lo >= hi:
            return
        s = self.s
        items = [
            {
                "platform_id": pid(i),
                "author": account_pid(int(s.author[i])),
                "text": s.texts[i],
                "created_at": START + timedelta(seconds=float(s.created_s[i])),
            }
            for i in range(lo, hi)
        ]
        with transaction(self.rt.sessions) as session:
            result = ingest.ingest_batch(session, self.rt, items, ACTOR)
        if result.created != hi - lo:
            raise RuntimeError(f"batch at {self.clock.now}: {result.created} of {hi - lo} created")
        now_s = (self.clock.now - START).total_seconds()
        for i, item in zip(range(lo, hi), result.results, strict=True):
            decision = item.decision or {}
            self.out.ingest_outcomes[decision.get("outcome", "none")] += 1
            if decision.get("action_id") is None:
                continue
            action = decision.get("action") or "?"
            self.out.automated[action] += 1
            self.out.wrongful_automated_any += int(not s.violating[i])
            if action == "remove":
                self.out.auto_removed[i] = True
                self.out.removed_at[i] = now_s

    def metrics(self) -> None:
        """Current cumulative views of every post with an open case (what the platform reports)."""
        with transaction(self.rt.sessions) as session:
            ids = session.scalars(
                select(Post.platform_id)
                .join(Case, Case.post_id == Post.id)
                .where(Case.state.in_(OPEN_STATES))
                .distinct()
            ).all()
            if not ids:
                return
            idx = np.fromiter((_index(p) for p in ids), dtype=np.int64, count=len(ids))
            now_s = (self.clock.now - START).total_seconds()
            views = np.rint(views_by_age(self.s.views[idx], now_s - self.s.created_s[idx])).astype(np.int64)
            observed = self.clock.now
            for lo in range(0, len(ids), 10_000):
                items = [
                    {"post": p, "views": v, "observed_at": observed}
                    for p, v in zip(ids[lo : lo + 10_000], views[lo : lo + 10_000].tolist(), strict=True)
                ]
                changes.record_metrics(session, self.rt, MetricsBatch.model_validate({"items": items}), ACTOR)
            self.out.snapshots += len(ids)

    def sample(self, hour: int) -> None:
        """Each queue's open cases and the label posts of its top 50, in the reviewer's order."""
        with transaction(self.rt.sessions) as session:
            self.out.queue_samples.append((hour, em.sample_queues(session, _index)))

    def _who(self, session: Any) -> access.Principal:
        who = access.principal_for_token(session, self.token, self.clock.now)
        if who is None:
            raise RuntimeError("the reviewer's token was refused")
        return who

    def take(self, k: int) -> None:
        """The reviewer takes the next case by the ordering under test (a lost slot when none is open)."""
        with transaction(self.rt.sessions) as session:
            case = review.next_case(session, self.rt, self._who(session), None, order=self.order)
            if case is None:
                self.out.idle_slots += 1
                return
            post = _index(case.post.platform_id) if case.post is not None else None
            label_post = post
            if label_post is None and case.verdict_id is not None:
                verdict = session.get(Verdict, case.verdict_id)
                label_post = _index(verdict.post.platform_id) if verdict is not None else None
            self.working[k] = Taken(
                case.id, case.revision, case.kind, case.policy, case.proposed_action, post, label_post
            )

    def decide(self, k: int) -> None:
        """60 s after taking it: the dataset label, reversed on the seeded 5 % of decisions."""
        taken = self.working.pop(k, None)
        if taken is None:
            return
        truth = bool(self.s.violating[taken.label_post]) if taken.label_post is not None else False
        says = truth != bool(self.s.errors[k])
        if says and taken.policy:
            on_account = taken.post is None
            action = (
                (taken.proposed if taken.proposed in ("suspend", "ban") else "suspend")
                if on_account
                else "remove"
            )
            data = review.DecisionIn(
                outcome="violation",
                policy=taken.policy,
                action=action,
                duration_days=7 if action == "suspend" else None,
                reason="Violates the policy (simulated reviewer).",
                revision=taken.revision,
            )
        else:
            data = review.DecisionIn(
                outcome="no_violation", reason="No violation (simulated reviewer).", revision=taken.revision
            )
        try:
            with transaction(self.rt.sessions) as session:
                done = review.decide(session, self.rt, self._who(session), taken.case_id, data)
        except TownsquareError as exc:
            if len(self.out.decision_errors) < 5:
                self.out.decision_errors.append(f"case {taken.case_id}: {exc}")
            return
        self.out.decisions += 1
        self.out.decisions_by_kind[taken.kind] += 1
        i = taken.post
        if i is None:
            return
        if data.outcome == "violation" and done.get("action_id") is not None:
            self.out.human_removed[i] = True
            self.out.removed_at[i] = (self.clock.now - START).total_seconds()
            self.out.wrongful_human += int(not self.s.violating[i])
        elif data.outcome == "no_violation" and self.s.violating[i]:
            self.out.missed_human += 1

    def finish(self) -> None:
        """Which posts had a review case, and the cases by kind."""
        with transaction(self.rt.sessions) as session:
            reviewed = session.scalars(
                select(Post.platform_id)
                .join(Case, Case.post_id == Post.id)
                .where(Case.kind == "review")
                .distinct()
            ).all()
            self.out.reviewed[[_index(p) for p in reviewed]] = True
            rows = session.execute(select(Case.kind, func.count()).group_by(Case.kind)).all()
            self.out.cases_by_kind = {kind: int(n) for kind, n in sorted(rows)}
            self.out.case_labels = em.label_posts(session, _index)
            self.out.case_rules = em.rule_posts(session, _index)
            self.out.open_at_end = int(
                session.scalar(select(func.count()).select_from(Case).where(Case.state.in_(OPEN_STATES))) or 0
            )


def run_variant(
    workdir: Path, template: Path, stream: Stream, token: str, decisions: int, order: str, name: str
) -> tuple[Outcome, float]:
    """A fresh copy of the template database, a runtime on it, the replay; the outcome and wall time."""
    folder = workdir / name
    clock = Clock()
    base, _, tier = order.partition("+")
    settings = settings_for(folder, semantic=tier == "semantic")
    copy_database(template, folder / "townsquare.db")
    start = time.perf_counter()
    rt = build_runtime(settings, clock=clock)
    try:
        out = Replay(rt, clock, stream, token, decisions, base).run()
    finally:
        rt.dispose()
    return out, time.perf_counter() - start


# --- figures ---------------------------------------------------------------------------------------------


def _share(num: float, den: float) -> float:
    return round(float(num / den), 6) if den > 0 else 0.0


def headline(stream: Stream, out: Outcome, viol: np.ndarray) -> dict[str, Any]:
    """The figures that depend on which posts count as violating (`viol`: one definition's labels)."""
    s = stream
    removed = ~np.isnan(out.removed_at)
    age = np.where(removed, out.removed_at - s.created_s, 0.0)
    prevented = np.where(removed, remaining_views(s.views, age), 0.0)
    reviewed = viol & out.reviewed
    queues = em.queue_precision(out.queue_samples, viol)
    return {
        "views_prevented": _share(prevented[viol].sum(), s.views[viol].sum()),
        "reviewed_views_prevented": _share(prevented[reviewed].sum(), s.views[reviewed].sum()),
        "automated_views_prevented": _share(prevented[viol & out.auto_removed].sum(), s.views[viol].sum()),
        # The most review could prevent: violating views on posts that ever had a review case.
        "violating_views_with_case": _share(s.views[reviewed].sum(), s.views[viol].sum()),
        **em.case_precision(out.case_labels, viol),
        "queues": queues,
        "violating_share": _share(viol.sum(), len(viol)),
        "violating_posts": int(viol.sum()),
        "violating_reviewed": int(reviewed.sum()),
        "violating_removed": int((removed & viol).sum()),
        "violating_views": round(float(s.views[viol].sum()), 1),
        "wrongful_automated": int((out.auto_removed & ~viol).sum()),
        "wrongful_human": int((out.human_removed & ~viol).sum()),
    }


def figures(
    stream: Stream, out: Outcome, capacity_decisions: int, wall_s: float, posts: int
) -> dict[str, Any]:
    """One variant's figures under the policy-matched definition, and the headline ones under the old
    any-label definition of the same posts (see bench/README.md)."""
    new = headline(stream, out, stream.violating)
    old = headline(stream, out, stream.old_violating)
    del old["queues"]
    old["queues_top50_median"] = {
        q: v["top50_precision_median"]
        for q, v in em.queue_precision(out.queue_samples, stream.old_violating).items()
    }
    cases_opened = sum(out.cases_by_kind.values())
    automated = sum(out.automated.values())
    return {
        **new,
        "capacity": capacity_decisions,
        "decisions": out.decisions,
        "decisions_by_kind": dict(sorted(out.decisions_by_kind.items())),
        "idle_slots": out.idle_slots,
        "decision_errors": out.decision_errors,
        "cases_opened": cases_opened,
        "cases_opened_share": _share(cases_opened, posts),
        "cases_by_kind": out.cases_by_kind,
        "cases_by_rule": em.cases_by_rule(out.case_rules, stream.violating, posts),
        "cases_open_at_end": out.open_at_end,
        "ingest_outcomes": dict(sorted(out.ingest_outcomes.items())),
        "automated_actions": automated,
        "automated_by_action": dict(sorted(out.automated.items())),
        "automated_removals": int(out.auto_removed.sum()),
        "wrongful_automated_any_action": out.wrongful_automated_any,
        "wrongful_automated_share": _share(out.wrongful_automated_any, automated),
        "human_removals": int(out.human_removed.sum()),
        "violating_missed_by_reviewer": out.missed_human,
        "precision_targets": em.precision_targets(
            posts, cases_opened, new["violating_views_with_case"], new["queues"]
        ),
        "old_definition": old,
        "view_snapshots": out.snapshots,
        "wall_s": round(wall_s, 2),
        "time_s": {k: round(v, 2) for k, v in sorted(out.time_s.items())},
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b > 0 else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """The whole benchmark in a temporary folder (removed afterwards unless --keep); the result document."""
    started, wall = datetime.now(UTC), time.perf_counter()
    load_start = load_average()
    pools = load_pools(args.data_dir)
    capacity = {c: round(c * args.posts) for c in args.capacities}
    stream = make_stream(pools, args.posts, args.accounts, max(capacity.values()), args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="townsquare-exposure-"))
    by_capacity: dict[str, Any] = {}
    try:
        token = build_template(workdir / "template", stream, Clock())
        template = workdir / "template" / "townsquare.db"
        names = variants(args.semantic, args.fifo, args.semantic_off)
        plan = [(c, n, name, order) for c, n in capacity.items() for name, order in names.items()]
        done = _variants(args, plan, workdir, template, stream, token)
        for c, n in capacity.items():
            entry: dict[str, Any] = {}
            for name in names:
                out, secs = done[(c, name)]
                entry[name] = figures(stream, out, n, secs, args.posts)
            if "fifo" in entry:
                entry["reviewed_ratio"] = _ratio(
                    entry["prioritised"]["reviewed_views_prevented"],
                    entry["fifo"]["reviewed_views_prevented"],
                )
                entry["views_prevented_ratio"] = _ratio(
                    entry["prioritised"]["views_prevented"], entry["fifo"]["views_prevented"]
                )
            by_capacity[str(c)] = entry
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return build_result(
        args, started, pools, stream, capacity, by_capacity, load_start, time.perf_counter() - wall
    )


def _variants(
    args: argparse.Namespace,
    plan: list[tuple[float, int, str, str]],
    workdir: Path,
    template: Path,
    stream: Stream,
    token: str,
) -> dict[tuple[float, str], tuple[Outcome, float]]:
    """Every variant, one after another or in `--jobs` processes (each on its own database)."""
    done: dict[tuple[float, str], tuple[Outcome, float]] = {}

    def report(c: float, name: str, result: tuple[Outcome, float]) -> None:
        done[(c, name)] = result
        print(f"  {name}-{c}: {result[0].decisions} decisions, {result[1]:.1f} s", flush=True)

    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs, mp_context=mp.get_context("fork")) as pool:
            futures = {
                pool.submit(run_variant, workdir, template, stream, token, n, order, f"{name}-{c}"): (c, name)
                for c, n, name, order in plan
            }
            for future in as_completed(futures):
                report(*futures[future], future.result())
        return done
    for i, (c, n, name, order) in enumerate(plan):
        run_one = partial(_profiled, args.out.parent) if args.profile and i == 0 else run_variant
        report(c, name, run_one(workdir, template, stream, token, n, order, f"{name}-{c}"))
    return done


def _profiled(
    out_dir: Path, workdir: Path, template: Path, stream: Stream, token: str, n: int, order: str, name: str
) -> tuple[Outcome, float]:
    """run_variant under cProfile: profile-exposure.pstats in `out_dir` and the top 40 printed."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    out, secs = prof.runcall(run_variant, workdir, template, stream, token, n, order, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "profile-exposure.pstats"
    prof.dump_stats(str(path))
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(40)
    print(f"\n--- cProfile: {name} (top 40 by cumulative time), {path} ---\n{buf.getvalue()}")
    return out, secs


def build_result(
    args: argparse.Namespace,
    started: datetime,
    pools: Pools,
    stream: Stream,
    capacity: dict[float, int],
    by_capacity: dict[str, Any],
    load_start: list[float] | None,
    wall_s: float,
) -> dict[str, Any]:
    """The JSON document (stable keys)."""
    one = by_capacity["0.01"]
    half = by_capacity["0.005"]
    met_views = one["prioritised"]["views_prevented"] >= TARGET_VIEWS_PREVENTED
    met_half = half["prioritised"]["views_prevented"] >= TARGET_VIEWS_PREVENTED_HALF
    ratio = one.get("reviewed_ratio")
    prec = one["prioritised"]["precision_targets"]
    auto = one["prioritised"]
    return {
        "benchmark": "exposure",
        "timestamp": started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "machine": machine(),
        "database": "sqlite (WAL), a fresh copy of one migrated template per variant",
        "params": {
            "posts": args.posts,
            "hours": DAY_S // 3600,
            "arrivals": "uniform over the day, seeded",
            "violating_share": VIOLATING_SHARE,
            "violating_posts": int(stream.violating.sum()),
            "tasks": list(TASKS),
            "split": "test",
            "sampling": "with replacement from distinct test texts, violating and not; texts unchanged",
            "pool_violating_texts": len(pools.violating),
            "pool_benign_texts": len(pools.benign),
            "test_rows": pools.test_rows,
            "definition": "policy-matched (bench/ground_truth.yaml); old any-label figures in old_definition",
            "ground_truth": pools.ground_truth,
            "old_definition_conflicting_texts": pools.conflicting,
            "old_definition_violating_posts": int(stream.old_violating.sum()),
            "unusable_texts_dropped": pools.unusable,
            "views": {
                "distribution": "lognormal, independent of the label",
                "median": VIEWS_MEDIAN,
                "mu": round(math.log(VIEWS_MEDIAN), 4),
                "sigma": VIEWS_SIGMA,
                "half_life_h": HALF_LIFE_S / 3600,
                "accrual": "V·(1 − 2^(−a/2h)) by age a",
            },
            "accounts": args.accounts,
            "followers": {
                "distribution": "lognormal",
                "median": FOLLOWERS_MEDIAN,
                "mu": round(math.log(FOLLOWERS_MEDIAN), 4),
                "sigma": FOLLOWERS_SIGMA,
            },
            "author": "uniform at random from the pool",
            "batch_every_s": BATCH_EVERY_S,
            "metrics_every_s": METRICS_EVERY_S,
            "metrics_for": "every post with an open case: its cumulative views at that moment",
            "capacities": {str(c): n for c, n in capacity.items()},
            "decision_spacing_s": {str(c): round(DAY_S / n, 1) if n else None for c, n in capacity.items()},
            "decision_s": DECISION_S,
            "reviewers": 1,
            "reviewer_role": "senior_moderator",
            "reviewer_error": REVIEWER_ERROR,
            "reviewer_action": "remove (account cases: the proposed suspension or ban)",
            "orders": ORDERS,
            "models": "text banks and the fast-tier models; semantic tier "
            + ("on (prioritised_semantic_off: off)" if args.semantic and args.semantic_off else "")
            + ("on" if args.semantic and not args.semantic_off else "")
            + ("" if args.semantic else "off"),
            "variants": variants(args.semantic, args.fifo, args.semantic_off),
            "second_review_rate": 0.0,
            "automation_qa_rate": 0.0,
            "simulated_start": START.isoformat().replace("+00:00", "Z"),
            "seed": args.seed,
            "jobs": args.jobs,
            "quick": args.quick,
            "data_dir": str(args.data_dir),
        },
        "views_prevented": {k: v["views_prevented"] for k, v in one.items() if isinstance(v, dict)},
        "views_prevented_half_percent": {
            k: v["views_prevented"] for k, v in half.items() if isinstance(v, dict)
        },
        "reviewed_views_prevented": {
            k: v["reviewed_views_prevented"] for k, v in one.items() if isinstance(v, dict)
        },
        "old_definition_views_prevented": {
            k: v["old_definition"]["views_prevented"] for k, v in one.items() if isinstance(v, dict)
        },
        "reviewed_ratio": ratio,
        "by_capacity": by_capacity,
        "targets": {
            "capacity": 0.01,
            "views_prevented": TARGET_VIEWS_PREVENTED,
            "views_prevented_at_0.005": TARGET_VIEWS_PREVENTED_HALF,
            "reviewed_ratio": TARGET_REVIEWED_RATIO,
            "cases_opened_share_max": prec["cases_opened_share_max"],
            "top50_median_min": prec["top50_median_min"],
            "violating_views_with_case_min": prec["violating_views_with_case_min"],
            "wrongful_automated_share_max": TARGET_WRONGFUL_AUTOMATED,
            "measured": {
                "views_prevented": one["prioritised"]["views_prevented"],
                "views_prevented_at_0.005": half["prioritised"]["views_prevented"],
                "cases_opened_share": prec["cases_opened_share"],
                "top50_median_by_queue": prec["judged_queues"],
                "violating_views_with_case": one["prioritised"]["violating_views_with_case"],
                "automated_actions": auto["automated_actions"],
                "wrongful_automated_share": auto["wrongful_automated_share"],
            },
            "met": {
                "views_prevented": bool(met_views),
                "views_prevented_at_0.005": bool(met_half),
                "reviewed_ratio": bool(ratio is not None and ratio >= TARGET_REVIEWED_RATIO),
                **prec["met"],
                "wrongful_automated_share": auto["wrongful_automated_share"] <= TARGET_WRONGFUL_AUTOMATED,
            },
        },
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "wall_s": round(wall_s, 1),
    }


def summary(result: dict[str, Any]) -> str:
    """A short table for people."""
    m, p = result["machine"], result["params"]
    lines = [
        f"exposure benchmark: {p['posts']} posts over {p['hours']} h ({p['violating_posts']} violating under "
        f"the policy-matched definition, {p['old_definition_violating_posts']} under the old), "
        f"{m['cores']} cores, {result['wall_s']} s",
        f"  {'capacity':>8} {'variant':<25} {'prevented':>9} {'(old)':>6} {'w/case':>6} {'cases':>6} "
        f"{'prec':>5} {'decided':>9} {'auto':>5} {'wrong':>5}",
    ]
    for c, entry in result["by_capacity"].items():
        for name, f in entry.items():
            if not isinstance(f, dict):
                continue
            lines.append(
                f"  {float(c):>8.1%} {name:<25} {f['views_prevented']:>9.3f} "
                f"{f['old_definition']['views_prevented']:>6.3f} {f['violating_views_with_case']:>6.3f} "
                f"{f['cases_opened']:>6} {f['cases_precision']:>5.2f} {f['decisions']:>4}/{f['capacity']:<4} "
                f"{f['automated_actions']:>5} {f['wrongful_automated_any_action']:>5}"
            )
            top = {q: v["judged_top50_precision_median"] for q, v in f["queues"].items()}
            lines.append(f"  {'':>8} top-50 precision medians (queues with >= 50 open): {top}")
        lines.append(f"  {'':>8} reviewed ratio prioritised/fifo: {entry.get('reviewed_ratio')}")
    word = {True: "met", False: "NOT met"}
    lines.append(
        "  targets: " + ", ".join(f"{k} {word[bool(v)]}" for k, v in result["targets"]["met"].items())
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the JSON, print the summary."""
    args = parse_args(argv)
    result = run(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(summary(result))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
