"""Per-stage timings of the ingest path in-process (no HTTP): normalise, score, decide, persist."""

from __future__ import annotations

import cProfile
import io
import pstats
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_common import Corpus, Record, chunks, timed, us_per
from townsquare.access.bootstrap import service_token
from townsquare.config import Settings
from townsquare.content import accounts as account_service
from townsquare.content.schemas import AccountCreate, PostCreate
from townsquare.db import transaction
from townsquare.detection.normalize import normalize
from townsquare.pipeline import ingest
from townsquare.pipeline.score import score
from townsquare.policy.engine import DecisionContext, decide
from townsquare.policy.service import sync_versions
from townsquare.runtime import Runtime, build_runtime

ACTOR = "service:bench"


def platform_token(workdir: Path, database_url: str) -> str:
    """A platform service account and its API token, minted straight into the benchmark database."""
    rt = stage_runtime(workdir, database_url, "")
    try:
        with transaction(rt.sessions) as session:
            return service_token(session, rt, "bench-platform")
    finally:
        rt.dispose()


def stage_runtime(workdir: Path, database_url: str, token: str) -> Runtime:
    """A runtime on the stage database, with its policy versions recorded as the service does at start."""
    settings = Settings(
        database_url=database_url,
        signing_key_path=workdir / "keys-stages" / "checkpoint.ed25519",
        checkpoint_log_path=workdir / "keys-stages" / "checkpoints.jsonl",
    )
    rt = build_runtime(settings)
    with transaction(rt.sessions) as session:
        sync_versions(session, rt)
    return rt


def _batches(rt: Runtime, posts: list[Record], size: int) -> int:
    """The service's batch path, one transaction per batch; how many posts were created."""
    created = 0
    for batch in chunks(posts, size):
        with transaction(rt.sessions) as session:
            created += ingest.ingest_batch(session, rt, batch, ACTOR).created
    return created


def _singles(rt: Runtime, posts: list[Record]) -> int:
    """The service's single-post path, one transaction (one commit) per post; how many were created."""
    created = 0
    for post in posts:
        with transaction(rt.sessions) as session:
            created += ingest.ingest_post(session, rt, PostCreate.model_validate(post), ACTOR).created
    return created


def _setup(rt: Runtime, corpus: Corpus, warm: list[Record], batch_size: int) -> None:
    """Create the accounts, then warm up (unmeasured): the text-bank index and the ORM's caches."""
    with transaction(rt.sessions) as session:
        for account in corpus.accounts:
            account_service.create_account(session, rt, AccountCreate.model_validate(account), ACTOR)
    for post in warm[:50]:
        decide(rt.policies, score(rt, post["text"]), DecisionContext(now=rt.now()))
    _batches(rt, warm, batch_size)


def run_stages(
    rt: Runtime,
    corpus: Corpus,
    warm: list[Record],
    posts: list[Record],
    singles: list[Record],
    batch_size: int,
) -> dict[str, Any]:
    """µs per post of each stage over `posts` (the batch phase's texts); the single path over `singles`."""
    _setup(rt, corpus, warm, batch_size)
    texts = [p["text"] for p in posts]
    _, t_norm = timed(lambda: [normalize(t) for t in texts])
    signals, t_score = timed(lambda: [score(rt, t) for t in texts])
    ctx = DecisionContext(now=rt.now())
    decisions, t_decide = timed(lambda: [decide(rt.policies, s, ctx) for s in signals])
    created, t_batch = timed(lambda: _batches(rt, posts, batch_size))
    single_created, t_single = timed(lambda: _singles(rt, singles))
    out: dict[str, Any] = {
        "posts": len(texts),
        "posts_with_signals": sum(1 for s in signals if s),
        "outcomes": dict(sorted(Counter(d.outcome for d in decisions).items())),
        "normalize": us_per(t_norm, len(texts)),
        "score": us_per(t_score, len(texts)),
        "decide": us_per(t_decide, len(texts)),
        "ingest_batch": us_per(t_batch, created),
        "ingest_batch_posts": created,
        "ingest_post_single_txn": us_per(t_single, single_created),
        "ingest_post_single_posts": single_created,
    }
    # What storage, the ORM, events, enforcement and the commit cost per post in a batch.
    out["persist_enforce_commit_batch"] = round(out["ingest_batch"] - out["score"] - out["decide"], 1)
    return out


def profile_paths(rt: Runtime, batch: list[Record], singles: list[Record], out_dir: Path) -> dict[str, str]:
    """cProfile one more batch and some single posts (fresh ids); write .pstats files, print the top 30."""
    out_dir.mkdir(parents=True, exist_ok=True)

    def fresh(posts: list[Record]) -> list[Record]:
        return [dict(p, platform_id="prof-" + p["platform_id"], reply_to=None, quote_of=None) for p in posts]

    runs: dict[str, Callable[[], int]] = {
        "ingest_batch": lambda: _batches(rt, fresh(batch), len(batch)),
        "ingest_post": lambda: _singles(rt, fresh(singles)),
    }
    paths: dict[str, str] = {}
    for name, fn in runs.items():
        prof = cProfile.Profile()
        prof.runcall(fn)
        path = out_dir / f"profile-{name}.pstats"
        prof.dump_stats(str(path))
        paths[name] = str(path)
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(30)
        print(f"\n--- cProfile: {name} (top 30 by cumulative time) ---\n{buf.getvalue()}")
    return paths
