"""Applying stream messages through the same services the HTTP API calls, idempotently.

Each message is applied at most once: its row in `stream_offsets` is written in the same transaction
as its effects, and a redelivered message whose row exists changes nothing. Runs of posts are decided
together through `pipeline.ingest.ingest_batch` (the batch API's path); every other kind goes through
the service its HTTP route calls. Outcomes:

- done: applied (or a repeat of something the platform already sent): acknowledge.
- dead: the message can never apply as it is (invalid, conflicting): dead-letter it with the error.
- retry: it failed in a way that may pass (a post not stored yet, a bug): keep it and try again; the
  worker dead-letters it after `stream_max_deliveries` attempts.

Database outages (connection errors) are not a message's fault: they propagate to the worker, which
backs off and tries the same messages again without counting an attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from townsquare import bulkrows
from townsquare.content import accounts
from townsquare.content.schemas import (
    AccountCreate,
    MetricItem,
    MetricsBatch,
    PostDelete,
    PostEdit,
    ReportCreate,
)
from townsquare.db import transaction
from townsquare.errors import Conflict, Invalid, NotFound, TownsquareError
from townsquare.pipeline import changes, ingest, reports
from townsquare.runtime import Runtime
from townsquare.stream.keys import Message
from townsquare.stream.models import StreamOffset


@dataclass
class Outcome:
    """What became of one message."""

    status: str  # done | dead | retry
    result: dict[str, Any] | None = None
    error: str | None = None


def is_outage(exc: BaseException) -> bool:
    """Whether a database error means the database is unreachable or restarting (not the message)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _why(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:3]
        )
    if isinstance(exc, TownsquareError):
        return f"{exc.error}: {exc.message}"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def classify(exc: Exception) -> Outcome:
    """Dead for what cannot apply as sent, retry for what may pass later."""
    if isinstance(exc, ValidationError | Invalid | Conflict | ValueError) and not isinstance(exc, NotFound):
        return Outcome("dead", error=_why(exc))
    return Outcome("retry", error=_why(exc))


def applied(session: Session, messages: list[Message]) -> set[str]:
    """The keys of these messages that were applied already."""
    wanted = [m.key for m in messages]
    rows = session.scalars(select(StreamOffset.message_key).where(StreamOffset.message_key.in_(wanted)))
    return set(rows)


def _record(session: Session, done: list[tuple[Message, dict[str, Any]]], now: datetime) -> None:
    if not done:
        return
    bulkrows.insert_rows(
        session,
        StreamOffset,
        [
            {
                "message_key": m.key,
                "kind": m.kind,
                "subject": str(
                    m.body.get("platform_id") or m.body.get("post") or m.body.get("subject") or ""
                ),
                "result": json.dumps(result, sort_keys=True, separators=(",", ":"), default=str),
                "appended_at": datetime.fromtimestamp(m.appended_ms / 1000, UTC),
                "processed_at": now,
            }
            for m, result in done
        ],
    )


def _posts(session: Session, rt: Runtime, msgs: list[Message]) -> list[Outcome]:
    batch = ingest.ingest_batch(session, rt, [m.body for m in msgs], msgs[0].actor)
    out = []
    for item in batch.results:
        if item.status == "rejected":
            out.append(Outcome("dead", error=json.dumps(item.error, default=str)))
        else:
            out.append(Outcome("done", {"status": item.status, "decision": item.decision}))
    return out


def _without_pid(body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    pid = body.get("platform_id")
    if not isinstance(pid, str) or not pid:
        raise Invalid("platform_id is required", {"field": "platform_id"})
    return pid, {k: v for k, v in body.items() if k not in ("platform_id", "author")}


def _one(session: Session, rt: Runtime, m: Message) -> dict[str, Any]:
    """Apply one non-post message through its service; returns what the HTTP route would answer."""
    if m.kind == "account":
        account, created = accounts.create_account(session, rt, AccountCreate.model_validate(m.body), m.actor)
        return {"platform_id": account.platform_id, "created": created}
    if m.kind == "edit":
        pid, rest = _without_pid(m.body)
        post, decision = changes.edit_post(session, rt, pid, PostEdit.model_validate(rest), m.actor)
        return {"platform_id": pid, "version": post.version, "decision": decision}
    if m.kind == "delete":
        pid, rest = _without_pid(m.body)
        post = changes.delete_post(session, rt, pid, PostDelete.model_validate(rest), m.actor)
        return {"platform_id": pid, "status": post.status}
    if m.kind == "metrics":
        item = MetricItem.model_validate({k: v for k, v in m.body.items() if k != "author"})
        result = changes.record_metrics(session, rt, MetricsBatch(items=[item]), m.actor)
        if result["rejected"]:  # its post is not stored yet (or never will be): try again later
            raise NotFound(result["rejected"][0]["message"], {"field": "post"})
        return result
    if m.kind == "report":
        body = {k: v for k, v in m.body.items() if k != "author"}
        return reports.create_report(session, rt, ReportCreate.model_validate(body), m.actor)
    if m.kind == "post":
        [outcome] = _posts(session, rt, [m])
        if outcome.status == "dead":
            raise Invalid(outcome.error or "rejected")
        return outcome.result or {}
    raise ValueError(f"unknown kind {m.kind}")


def _runs(messages: list[Message], limit: int) -> list[list[Message]]:
    """Consecutive posts from one sender form runs of at most `limit`; every other message is a run of
    its own."""
    runs: list[list[Message]] = []
    for m in messages:
        last = runs[-1] if runs else None
        if (
            last
            and len(last) < limit
            and m.kind == "post"
            and last[0].kind == "post"
            and last[0].actor == m.actor
        ):
            last.append(m)
        else:
            runs.append([m])
    return runs


def _apply_run(rt: Runtime, run: list[Message], now: Callable[[], datetime]) -> list[Outcome]:
    """One transaction for the run; messages already applied are done without touching anything."""
    with transaction(rt.sessions) as session:
        seen = applied(session, run)
        todo = [m for m in run if m.key not in seen]
        outcomes: dict[str, Outcome] = {
            m.key: Outcome("done", {"repeat": True}) for m in run if m.key in seen
        }
        if todo:
            if todo[0].kind == "post":
                results = _posts(session, rt, todo)
            else:
                results = [Outcome("done", _one(session, rt, todo[0]))]
            outcomes.update({m.key: o for m, o in zip(todo, results, strict=True)})
            _record(
                session,
                [(m, outcomes[m.key].result or {}) for m in todo if outcomes[m.key].status == "done"],
                now(),
            )
    return [outcomes[m.key] for m in run]


def _apply_alone(rt: Runtime, m: Message, now: Callable[[], datetime]) -> Outcome:
    try:
        return _apply_run(rt, [m], now)[0]
    except IntegrityError:
        # Another worker applied it at the same moment (its offset row won): check again.
        return _apply_run(rt, [m], now)[0]
    except Exception as exc:
        if is_outage(exc):
            raise
        return classify(exc)


def apply(rt: Runtime, messages: list[Message], now: Callable[[], datetime] | None = None) -> list[Outcome]:
    """Apply messages in order; stops after the first one to retry (later ones wait, keeping order).

    Returns one outcome per message applied or refused, in order; the list is shorter than `messages`
    when a message must be retried (it is the last outcome), and the rest were not attempted.
    """
    clock = now or (lambda: datetime.now(UTC))
    out: list[Outcome] = []
    for run in _runs(messages, min(rt.settings.stream_batch, rt.settings.max_batch)):
        try:
            results = _apply_run(rt, run, clock)
        except Exception as exc:
            if is_outage(exc):
                raise
            # A run that fails as a whole is replayed one message at a time, to find the one at fault.
            results = []
            for m in run:
                results.append(_apply_alone(rt, m, clock))
                if results[-1].status == "retry":
                    break
        out.extend(results)
        if out and out[-1].status == "retry":
            break
    return out
