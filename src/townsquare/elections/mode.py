"""The election mode: which election windows are open now, and the switches into and out of them.

Every process keeps a snapshot of the stored elections (refreshed at most every `TTL_S` seconds, and at
once after a change made here) and puts their windows in `rt.calendar`, which the policy engine and the
queue router read. When the clock crosses a window's edge, the first request to notice records the switch
(`election.mode_entered` / `election.mode_exited`) in its own transaction; a unique row makes the switch
recorded once whichever process sees it first (INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from townsquare.elections import repository as repo
from townsquare.elections.calendar import calendar_of
from townsquare.elections.models import ModeSwitch
from townsquare.elections.schemas import window_of
from townsquare.eventlog import events
from townsquare.policy.schema import ElectionCalendar
from townsquare.runtime import Runtime

ACTOR = "service:elections"
TTL_S = 2.0


@dataclass(frozen=True)
class RaceInfo:
    """A race as the scorers need it."""

    key: str
    name: str
    candidates: tuple[str, ...]
    called_at: datetime | None
    winner: str | None


@dataclass(frozen=True)
class ElectionInfo:
    """A stored election, detached from any session."""

    id: int
    slug: str
    name: str
    jurisdiction: str
    start: date  # window
    end: date
    polling_start: date
    polling_end: date
    results_url: str
    voting_info_url: str
    sla_minutes: int
    places: tuple[str, ...]
    races: tuple[RaceInfo, ...]

    def active(self, day: date) -> bool:
        """Whether the window covers `day`."""
        return self.start <= day <= self.end


@dataclass
class State:
    """The snapshot of one database's elections and their last recorded switches."""

    elections: list[ElectionInfo]
    entered: dict[int, tuple[date, date]]  # election id -> window it was last switched on for
    calendar: ElectionCalendar
    library_version: int = 0  # the newest published claim-library version
    loaded: float = field(default_factory=time.monotonic)

    def active(self, now: datetime) -> list[ElectionInfo]:
        """The elections whose window is open now."""
        return [e for e in self.elections if e.active(now.date())]


_cache: weakref.WeakKeyDictionary[Engine, State] = weakref.WeakKeyDictionary()


def _load(session: Session) -> State:
    infos = []
    rows = repo.elections(session)
    for e in rows:
        start, end = window_of(e.polling_start, e.polling_end, e.window_before_days, e.window_after_days)
        races = tuple(
            RaceInfo(r.key, r.name, tuple(r.candidates or ()), r.called_at, r.winner) for r in e.races
        )
        infos.append(
            ElectionInfo(
                e.id,
                e.slug,
                e.name,
                e.jurisdiction,
                start,
                end,
                e.polling_start,
                e.polling_end,
                e.results_url,
                e.voting_info_url,
                e.sla_minutes,
                tuple(e.places or ()),
                races,
            )
        )
    entered = {
        i: (s.window_start, s.window_end)
        for i, s in repo.last_switches(session).items()
        if s.direction == "entered"
    }
    return State(infos, entered, calendar_of(rows), repo.library_version(session))


def state(session: Session, rt: Runtime) -> State:
    """This database's elections (cached for TTL_S seconds per process)."""
    cached = _cache.get(rt.engine)
    if cached is not None and time.monotonic() - cached.loaded < TTL_S:
        return cached
    st = _cache[rt.engine] = _load(session)
    return st


def cached_active(rt: Runtime) -> list[ElectionInfo]:
    """The elections active now by the last snapshot (none before this process has read the database)."""
    st = _cache.get(rt.engine)
    return st.active(rt.now()) if st is not None else []


def refresh(session: Session, rt: Runtime) -> State:
    """Bring `rt.calendar` up to date and record any switch into or out of an election's window."""
    st = state(session, rt)
    if st.elections:
        rt.calendar = st.calendar
    now = rt.now()
    pending = []
    for e in st.elections:
        on = e.active(now.date())
        was = st.entered.get(e.id)
        if on and was != (e.start, e.end):
            pending.append((e, "entered", e.start, e.end))
        elif not on and was is not None:
            pending.append((e, "exited", was[0], was[1]))
    if pending:
        for e, direction, start, end in pending:
            _switch(session, e, direction, start, end, now)
        st = _cache[rt.engine] = _load(session)  # the new switches are part of the snapshot at once
    return st


def _switch(session: Session, e: ElectionInfo, direction: str, start: date, end: date, now: datetime) -> None:
    values = {
        "election_id": e.id,
        "direction": direction,
        "window_start": start,
        "window_end": end,
        "at": now,
    }
    if not _insert_once(session, values):
        return  # another process recorded this switch first
    events.record(
        session,
        f"election.mode_{direction}",
        actor=ACTOR,
        subject_type="election",
        subject_id=e.slug,
        at=now,
        reason="window opened" if direction == "entered" else "window closed",
        payload={
            "jurisdiction": e.jurisdiction,
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "sla_minutes": e.sla_minutes,
        },
    )


def _insert_once(session: Session, values: dict[str, object]) -> bool:
    """Insert the switch unless an identical one exists; whether this call inserted it."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    stmt = (
        dialect_insert(ModeSwitch)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["election_id", "direction", "window_start", "window_end"])
    )
    result: Any = session.execute(stmt)
    return bool(result.rowcount)


def changed(session: Session, rt: Runtime) -> None:
    """An election changed in this transaction: forget the snapshot and apply the change now."""
    session.flush()
    _cache[rt.engine] = _load(session)
    refresh(session, rt)
