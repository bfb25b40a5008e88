"""Stream ingest for the API and the CLI: enqueue, the backlog and workers, one message's status."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.runtime import Runtime
from townsquare.stream import dead, keys, metrics
from townsquare.stream import repository as repo
from townsquare.stream.producer import Appended, Backpressure, Producer, StreamDown, backlog

_producers: dict[tuple[str, str], Producer] = {}
_guard = threading.Lock()
_ENTRY = re.compile(r"^\d{1,20}-\d{1,20}$")


@contextmanager
def redis_guard(settings: Settings) -> Iterator[None]:
    """Redis errors become 503 with Retry-After (never a 500)."""
    try:
        yield
    except redis.RedisError as exc:
        raise StreamDown(type(exc).__name__, settings.stream_retry_after_s) from exc


def configured(settings: Settings) -> bool:
    """Whether stream ingest has a Redis to talk to."""
    return bool(settings.redis_url)


def producer(settings: Settings) -> Producer:
    """The process's producer for this Redis and prefix (one connection pool, shared by threads)."""
    if not configured(settings):
        raise Conflict("stream ingest is not configured (set TOWNSQUARE_REDIS_URL)", {"field": "redis_url"})
    key = (str(settings.redis_url), settings.stream_prefix)
    with _guard:
        if key not in _producers:
            _producers[key] = Producer(settings)
        return _producers[key]


def _post_of(kind: str, body: dict[str, Any]) -> str | None:
    if kind in ("edit", "delete"):
        return str(body.get("platform_id") or "") or None
    if kind == "metrics":
        return str(body.get("post") or "") or None
    if kind == "report" and body.get("subject_type") == "post":
        return str(body.get("subject") or "") or None
    return None


def account_of(kind: str, body: dict[str, Any], authors: dict[str, str]) -> str:
    """The account whose shard carries the message: the author, so its post, edits and deletion queue
    in order behind its account. A post not stored yet is keyed by its own id (a message that arrives
    before its post is retried until the post is stored)."""
    if kind == "account":
        return str(body.get("platform_id") or "")
    if kind == "post":
        return str(body.get("author") or "")
    if kind == "report" and body.get("subject_type") == "account":
        return str(body.get("subject") or "")
    if isinstance(body.get("author"), str) and body["author"]:
        return str(body["author"])
    post = _post_of(kind, body) or ""
    return authors.get(post, post)


def enqueue(rt: Runtime, items: list[tuple[str, dict[str, Any]]], actor: str) -> list[Appended]:
    """Append (kind, body) messages; messages about stored posts go to their author's shard."""
    lookups = [p for kind, body in items if (p := _post_of(kind, body)) and not body.get("author")]
    authors: dict[str, str] = {}
    if lookups:
        with transaction(rt.sessions) as session:
            authors = repo.authors_of(session, lookups)
    out = producer(rt.settings).append_many(
        (kind, account_of(kind, body, authors), body, actor) for kind, body in items
    )
    for kind, _ in items:
        metrics.APPENDED.labels(kind).inc()
    return out


def enqueue_refusing(rt: Runtime, items: list[tuple[str, dict[str, Any]]], actor: str) -> list[Appended]:
    """`enqueue`, counting refusals (backlog over its bound, Redis down) in the metrics."""
    try:
        return enqueue(rt, items, actor)
    except Backpressure:
        metrics.REFUSED.labels("backlog").inc()
        raise
    except StreamDown:
        metrics.REFUSED.labels("redis").inc()
        raise


def queued(appended: Appended, platform_id: str | None = None) -> dict[str, Any]:
    """What the HTTP API answers (202) for a message it queued."""
    return {
        "platform_id": platform_id,
        "queued": True,
        "message": f"{appended.stream}/{appended.id}",
        "status_url": appended.status_url,
    }


def status(rt: Runtime) -> dict[str, Any]:
    """Mode, backlog per shard, dead letters, live workers and who holds which shard."""
    s = rt.settings
    out: dict[str, Any] = {"mode": s.ingest_mode, "configured": configured(s), "shards": s.stream_shards}
    if not configured(s):
        return out
    client = producer(s).client
    try:
        per = backlog(client, s)
        now_ms = int(time.time() * 1000)
        workers = client.zrangebyscore(keys.workers_key(s), now_ms, "+inf")
        pipe = client.pipeline(transaction=False)
        for n in range(s.stream_shards):
            pipe.get(keys.lease_key(s, n))
        holders = pipe.execute()
        dead_count = dead.count(client, s)
    except redis.RedisError as exc:
        return {**out, "redis": f"unavailable: {type(exc).__name__}"}
    shards = [
        {"shard": n, "stream": stream, **v, "worker": holders[n]} for n, (stream, v) in enumerate(per.items())
    ]
    for row in shards:
        metrics.BACKLOG.labels(str(row["shard"])).set(row["lag"] + row["pending"])
    metrics.DEAD.set(dead_count)
    metrics.WORKERS.set(len(workers))
    return {
        **out,
        "redis": "ok",
        "backlog": sum(r["lag"] + r["pending"] for r in shards),
        "max_backlog": s.stream_max_backlog,
        "dead": dead_count,
        "workers": workers,
        "per_shard": shards,
    }


def message_status(rt: Runtime, shard: int, entry_id: str) -> dict[str, Any]:
    """processed (with what the API would have answered), dead, retried, or queued."""
    s = rt.settings
    if not 0 <= shard < s.stream_shards:
        raise NotFound(f"no shard {shard}", {"field": "shard"})
    if not _ENTRY.match(entry_id):
        raise Invalid("id must be a stream entry id like 1700000000000-0", {"field": "id"})
    key = f"{keys.stream_key(s, shard)}/{entry_id}"
    with transaction(rt.sessions) as session:
        row = repo.offset(session, key)
        if row is not None:
            return {
                "message": key,
                "status": "processed",
                "kind": row.kind,
                "subject": row.subject,
                "processed_at": row.processed_at.isoformat(),
                "result": json.loads(row.result),
            }
    client = producer(s).client
    mark = client.hget(dead.index_key(s), key)
    if mark == "dead":
        return {"message": key, "status": "dead"}
    if mark and str(mark).startswith("retried:"):
        return {"message": key, "status": "retried", "retried_as": str(mark)[len("retried:") :]}
    if not client.xrange(keys.stream_key(s, shard), min=entry_id, max=entry_id):
        raise NotFound(f"no message {key}", {"field": "id"})
    return {"message": key, "status": "queued"}


def queue_batch(rt: Runtime, items: list[Any], actor: str) -> dict[str, Any]:
    """Queue a batch of posts: each item is validated here (rejected ones answered now), the rest queued."""
    from pydantic import ValidationError

    from townsquare.content.schemas import PostCreate

    results: list[dict[str, Any]] = []
    good: list[tuple[int, dict[str, Any]]] = []
    for i, raw in enumerate(items):
        pid = raw.get("platform_id") if isinstance(raw, dict) else None
        try:
            data = PostCreate.model_validate(raw)
            if len(data.text) > rt.settings.max_text_chars:
                raise Invalid(
                    f"text is longer than {rt.settings.max_text_chars} characters", {"field": "text"}
                )
            good.append((i, data.model_dump(mode="json", exclude_none=True)))
        except ValidationError as exc:
            fields = [
                {"field": ".".join(str(p) for p in e["loc"]) or "item", "message": e["msg"]}
                for e in exc.errors()
            ]
            results.append(
                {
                    "index": i,
                    "platform_id": pid,
                    "status": "rejected",
                    "error": {"error": "invalid", "detail": fields},
                }
            )
        except Invalid as exc:
            detail = [{"field": "text", "message": exc.message}]
            results.append(
                {
                    "index": i,
                    "platform_id": pid,
                    "status": "rejected",
                    "error": {"error": "invalid", "detail": detail},
                }
            )
    appended = enqueue_refusing(rt, [("post", body) for _, body in good], actor) if good else []
    for (i, body), a in zip(good, appended, strict=True):
        results.append({"index": i, "status": "queued", **queued(a, body["platform_id"])})
    results.sort(key=lambda r: int(r["index"]))
    return {"queued": len(appended), "rejected": len(items) - len(appended), "results": results}
