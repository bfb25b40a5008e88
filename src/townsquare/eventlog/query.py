"""Reading the event log for auditors: filters, pages, exports, sealed-field redaction and chain status.

Personal payload fields are stored sealed (`{"enc": ...}`); every view and export here shows them as
"[sealed]" and never decrypts them: auditors judge what staff did, not what users wrote.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, sessionmaker

from townsquare.access.insider import flagged_event_ids
from townsquare.api_types import as_utc
from townsquare.errors import Invalid
from townsquare.eventlog import chain
from townsquare.eventlog.audit import VerifyResult
from townsquare.eventlog.events import Checkpoint, Event, body_of, canonical_json, head, iso
from townsquare.runtime import Runtime

SEALED = "[sealed]"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
EXPORT_CHUNK = 500
MAX_ID = 2**63 - 1  # the largest BIGINT; a bigger cursor would overflow the database driver
# The CSV export's columns, in order; `versions` and `payload` hold canonical JSON, `flags` is ";"-joined.
CSV_COLUMNS = (
    "id",
    "batch_id",
    "occurred_at",
    "type",
    "actor",
    "subject_type",
    "subject_id",
    "reason",
    "versions",
    "payload",
    "flags",
)
_TYPE_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}\*?$|^\*$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_VERIFY_ATTR = "audit_last_verification"


@dataclass(frozen=True)
class EventFilters:
    """Which events an auditor asked for; every field is optional."""

    actor: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def params(self) -> dict[str, str]:
        """The filters as query parameters (for links that keep them)."""
        out = {k: v for k, v in asdict(self).items() if isinstance(v, str) and v}
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = iso(value)
        return out


def parse_time(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time (a date or a time without a zone is UTC), or Invalid naming `field`."""
    if value is None or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{field} must be an ISO 8601 time, got {value[:64]!r}", {"field": field}) from None
    try:
        return as_utc(parsed)
    except ValueError as exc:
        raise Invalid(f"{field} is {exc}", {"field": field}) from None


def _text(value: str | None, field: str, longest: int) -> str | None:
    if value is None or not value.strip():
        return None
    if len(value.strip()) > longest:
        raise Invalid(f"{field} is longer than {longest} characters", {"field": field})
    return value.strip()


def parse_filters(
    *,
    actor: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    type: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> EventFilters:
    """Validate raw filter values (empty means unset); Invalid names the first bad field."""
    kind = _text(type, "type", 65)
    if kind is not None and not _TYPE_PATTERN.match(kind):
        raise Invalid("type is an event type, or a prefix ending in * (e.g. action.*)", {"field": "type"})
    start, end = parse_time(since, "since"), parse_time(until, "until")
    if start is not None and end is not None and end < start:
        raise Invalid("until is before since", {"field": "until"})
    return EventFilters(
        actor=_text(actor, "actor", 128),
        subject_type=_text(subject_type, "subject_type", 32),
        subject_id=_text(subject_id, "subject_id", 64),
        type=kind,
        since=start,
        until=end,
    )


def check_limit(limit: int) -> int:
    """A page size between 1 and MAX_LIMIT, or Invalid naming limit."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}", {"field": "limit"})
    return limit


def parse_cursor(value: str | int | None) -> int | None:
    """A cursor (an event id) or None, or Invalid naming cursor."""
    if value is None or value == "":
        return None
    try:
        cursor = int(value)
    except ValueError:
        raise Invalid("cursor is the next_cursor of a previous page", {"field": "cursor"}) from None
    if not 1 <= cursor <= MAX_ID:
        raise Invalid("cursor is the next_cursor of a previous page", {"field": "cursor"})
    return cursor


def _where(stmt: Select[tuple[Event]], f: EventFilters) -> Select[tuple[Event]]:
    if f.actor:
        stmt = stmt.where(Event.actor == f.actor)
    if f.subject_type:
        stmt = stmt.where(Event.subject_type == f.subject_type)
    if f.subject_id:
        stmt = stmt.where(Event.subject_id == f.subject_id)
    if f.type and f.type != "*":
        if f.type.endswith("*"):
            stmt = stmt.where(Event.type.startswith(f.type[:-1], autoescape=True))
        else:
            stmt = stmt.where(Event.type == f.type)
    if f.since is not None:
        stmt = stmt.where(Event.occurred_at >= f.since)
    if f.until is not None:
        stmt = stmt.where(Event.occurred_at <= f.until)
    return stmt


def page(
    session: Session, f: EventFilters, *, limit: int, cursor: int | None
) -> tuple[list[Event], int | None]:
    """One page of matching events, newest first, and the cursor of the next page (None at the end)."""
    stmt = _where(select(Event), f)
    if cursor is not None:
        stmt = stmt.where(Event.id < cursor)
    rows = list(session.scalars(stmt.order_by(Event.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def iter_events(sessions: sessionmaker[Session], f: EventFilters) -> Iterator[dict[str, Any]]:
    """Every matching event as a view, oldest first, read in short transactions (for exports)."""
    with sessions() as session:
        flagged = flagged_event_ids(session)
    last = 0
    while True:
        with sessions() as session:
            stmt = _where(select(Event), f).where(Event.id > last)
            rows = list(session.scalars(stmt.order_by(Event.id).limit(EXPORT_CHUNK)))
        if not rows:
            return
        for ev in rows:
            yield event_view(ev, flagged)
        last = rows[-1].id


def redact(value: Any) -> Any:
    """A payload with every sealed field replaced by "[sealed]"; nothing is decrypted."""
    if isinstance(value, dict):
        if "enc" in value and len(value) == 1:
            return SEALED
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def event_view(ev: Event, flagged: set[int]) -> dict[str, Any]:
    """An event as auditors see it: sealed fields redacted, with flags."""
    body = body_of(ev)
    payload = redact(body.get("payload") or {})
    flags = []
    if isinstance(payload, dict) and payload.get("protected") is True:
        flags.append("protected")
    if ev.id in flagged:
        flags.append("insider_risk")
    return {
        "id": ev.id,
        "batch_id": ev.batch_id,
        "occurred_at": iso(ev.occurred_at),
        "type": ev.type,
        "actor": ev.actor,
        "subject": {"type": ev.subject_type, "id": ev.subject_id},
        "reason": body.get("reason", ""),
        "versions": body.get("versions") or {},
        "payload": payload,
        "flags": flags,
    }


def views(session: Session, rows: Iterable[Event]) -> list[dict[str, Any]]:
    """Views of a page of events."""
    flagged = flagged_event_ids(session)
    return [event_view(ev, flagged) for ev in rows]


def _cell(value: str) -> str:
    # A cell a spreadsheet would run as a formula is prefixed with an apostrophe (OWASP CSV injection).
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_row(view: dict[str, Any]) -> list[str]:
    """One event view as CSV cells, in CSV_COLUMNS order."""
    cells = [
        str(view["id"]),
        str(view["batch_id"]),
        view["occurred_at"],
        view["type"],
        view["actor"],
        view["subject"]["type"],
        view["subject"]["id"],
        view["reason"],
        canonical_json(view["versions"]),
        canonical_json(view["payload"]),
        ";".join(view["flags"]),
    ]
    return [_cell(c) for c in cells]


def csv_stream(rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """A CSV document (header first) produced row by row."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for view in rows:
        writer.writerow(csv_row(view))
        if buf.tell() > 64_000:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def json_stream(rows: Iterable[dict[str, Any]], f: EventFilters, now: datetime) -> Iterator[str]:
    """A JSON document {"exported_at", "filters", "events": [...]} produced event by event."""
    head_text = json.dumps({"exported_at": iso(now), "filters": f.params()}, ensure_ascii=False)
    yield head_text[:-1] + ',"events":['
    first = True
    for view in rows:
        yield ("" if first else ",") + json.dumps(view, ensure_ascii=False, sort_keys=True)
        first = False
    yield "]}"


@dataclass(frozen=True)
class Verification:
    """The result of one `audit verify` run and when it ran."""

    at: datetime
    result: VerifyResult

    def view(self) -> dict[str, Any]:
        """As JSON."""
        r = self.result
        return {
            "verified_at": iso(self.at),
            "ok": r.ok,
            "problems": r.problems,
            "batches": r.batches,
            "events": r.events,
            "head_seq": r.head_seq,
            "pending_batches": r.pending,
            "checkpoints": r.checkpoints,
            "latest_checkpoint": r.latest_checkpoint,
        }


def run_verification(rt: Runtime, result: VerifyResult | None = None) -> Verification:
    """Verify the whole chain now and remember the result on the runtime (`result` fills as it goes)."""
    done = Verification(at=rt.now(), result=chain.verify(rt, result))
    setattr(rt, _VERIFY_ATTR, done)
    return done


def last_verification(rt: Runtime) -> Verification | None:
    """The last verification this process ran, if any."""
    found = getattr(rt, _VERIFY_ATTR, None)
    return found if isinstance(found, Verification) else None


def latest_checkpoint(session: Session) -> dict[str, Any] | None:
    """The most recent signed checkpoint stored in the database."""
    cp = session.scalar(select(Checkpoint).order_by(Checkpoint.seq.desc(), Checkpoint.id.desc()).limit(1))
    if cp is None:
        return None
    return {k: getattr(cp, k) for k in ("seq", "chain_hash", "signed_at", "public_key", "signature")}


def status(rt: Runtime, session: Session) -> dict[str, Any]:
    """The chain head, the latest signed checkpoint and the last verification (None if never run)."""
    seq, chain_head = head(session)
    done = last_verification(rt)
    return {
        "head": {"seq": seq, "chain_hash": chain_head},
        "latest_checkpoint": latest_checkpoint(session),
        "last_verification": done.view() if done else None,
    }
