"""Bulk loading of platform records (JSONL: accounts, posts, metrics, reports) in batched transactions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from townsquare.content import accounts
from townsquare.content.schemas import AccountCreate, MetricItem, MetricsBatch, ReportCreate
from townsquare.db import idempotent
from townsquare.errors import TownsquareError
from townsquare.pipeline import changes, ingest, reports
from townsquare.runtime import Runtime

KINDS = ("account", "post", "metrics", "report")
CHUNK = {"account": 500, "post": 1000, "metrics": 5000, "report": 200}


@dataclass
class Summary:
    """What a bulk load did, per kind, plus the decisions made."""

    created: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def merge(self, other: Summary) -> None:
        """Add another summary's counts and errors to this one."""
        for mine, theirs in (
            (self.created, other.created),
            (self.duplicates, other.duplicates),
            (self.rejected, other.rejected),
            (self.outcomes, other.outcomes),
            (self.actions, other.actions),
        ):
            mine.update(theirs)
        self.errors.extend(other.errors[: max(0, 50 - len(self.errors))])

    def reject(self, kind: str, where: str, message: str) -> None:
        """Count a rejected record and keep its first errors."""
        self.rejected[kind] += 1
        if len(self.errors) < 50:
            self.errors.append(f"{where}: {message}")


def _why(exc: Exception) -> str:
    """A one-line reason that names the offending fields."""
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in exc.errors()[:3]
        )
    return str(exc).splitlines()[0]


def _accounts(rt: Runtime, items: list[tuple[int, dict[str, Any]]], actor: str, out: Summary) -> None:
    def work(session: Session) -> Summary:
        # Counted afresh on every attempt: a rerun after a concurrent writer's insert starts over.
        part = Summary()
        for line, raw in items:
            try:
                data = AccountCreate.model_validate(raw)
                _, created = accounts.create_account(session, rt, data, actor)
                (part.created if created else part.duplicates)["account"] += 1
            except (ValidationError, TownsquareError) as exc:
                part.reject("account", f"line {line}", _why(exc))
        return part

    out.merge(idempotent(rt.sessions, work))


def _posts(rt: Runtime, items: list[tuple[int, dict[str, Any]]], actor: str, out: Summary) -> None:
    result = idempotent(
        rt.sessions, lambda session: ingest.ingest_batch(session, rt, [raw for _, raw in items], actor)
    )
    for (line, _), item in zip(items, result.results, strict=True):
        if item.status == "rejected":
            out.reject("post", f"line {line}", str((item.error or {}).get("detail")))
            continue
        (out.created if item.status == "created" else out.duplicates)["post"] += 1
        if item.status == "created" and item.decision:
            out.outcomes[item.decision["outcome"]] += 1
            if item.decision.get("action"):
                out.actions[item.decision["action"]] += 1


def _metrics(rt: Runtime, items: list[tuple[int, dict[str, Any]]], actor: str, out: Summary) -> None:
    # Validated line by line, so one bad snapshot does not reject the rest of its chunk.
    good: list[tuple[int, MetricItem]] = []
    for line, raw in items:
        try:
            good.append((line, MetricItem.model_validate(raw)))
        except ValidationError as exc:
            out.reject("metrics", f"line {line}", _why(exc))
    if not good:
        return
    batch = MetricsBatch(items=[m for _, m in good])
    result = idempotent(rt.sessions, lambda session: changes.record_metrics(session, rt, batch, actor))
    out.created["metrics"] += result["stored"]
    if result["repeated"]:
        out.duplicates["metrics"] += result["repeated"]
    for bad in result["rejected"]:
        out.reject("metrics", f"line {good[bad['index']][0]}", bad["message"])


def _reports(rt: Runtime, items: list[tuple[int, dict[str, Any]]], actor: str, out: Summary) -> None:
    def one(data: ReportCreate) -> dict[str, Any]:
        return idempotent(rt.sessions, lambda session: reports.create_report(session, rt, data, actor))

    for line, raw in items:
        try:
            done = one(ReportCreate.model_validate(raw))
            (out.duplicates if done.get("created") is False else out.created)["report"] += 1
        except (ValidationError, TownsquareError) as exc:
            out.reject("report", f"line {line}", _why(exc))


_HANDLERS = {"account": _accounts, "post": _posts, "metrics": _metrics, "report": _reports}


def load(
    rt: Runtime,
    records: Iterable[tuple[int, dict[str, Any] | None, str | None]],
    *,
    actor: str = "service:bulk-ingest",
    progress: Callable[[int], None] | None = None,
) -> Summary:
    """Load (line, record, parse_error) triples in order, batching runs of the same kind."""
    out = Summary()
    run: list[tuple[int, dict[str, Any]]] = []
    kind = ""

    def flush() -> None:
        if run:
            _HANDLERS[kind](rt, run, actor, out)
            if progress:
                progress(len(run))
            run.clear()

    for line, record, problem in records:
        if record is None or problem:
            out.reject("line", f"line {line}", problem or "empty")
            continue
        rkind = record.pop("kind", None) if isinstance(record, dict) else None
        if rkind not in KINDS:
            out.reject("line", f"line {line}", f"kind must be one of {', '.join(KINDS)}")
            continue
        if rkind != kind or len(run) >= CHUNK[rkind]:
            flush()
            kind = rkind
        run.append((line, record))
    flush()
    return out
