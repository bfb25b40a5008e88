"""Create and change elections, record race calls; every change is checked whole and is an event.

Nothing stored changes when a request is refused: the checks (schema, jurisdiction, overlapping windows)
all run before the first write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from townsquare.elections import mode
from townsquare.elections import repository as repo
from townsquare.elections.calendar import overlapping
from townsquare.elections.models import Election, Race
from townsquare.elections.schemas import ElectionSpec, ElectionUpdate, RaceCall, RaceSpec, window_of
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime


def spec_of(e: Election) -> ElectionSpec:
    """A stored election as the spec it was made from."""
    return ElectionSpec.model_validate(
        {
            "slug": e.slug,
            "name": e.name,
            "jurisdiction": e.jurisdiction,
            "polling": {"start": e.polling_start, "end": e.polling_end},
            "window": {"before_days": e.window_before_days, "after_days": e.window_after_days},
            "sources": {"results": e.results_url, "voting_information": e.voting_info_url},
            "sla_minutes": e.sla_minutes,
            "provisional": e.provisional,
            "places": list(e.places or []),
            "races": [
                {"key": r.key, "name": r.name, "candidates": list(r.candidates or [])} for r in e.races
            ],
        }
    )


def view(e: Election, now: datetime) -> dict[str, Any]:
    """The public shape of an election, with its window and whether it is active now."""
    start, end = window_of(e.polling_start, e.polling_end, e.window_before_days, e.window_after_days)
    return {
        **spec_of(e).model_dump(mode="json"),
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "active": start <= now.date() <= end,
        "revision": e.revision,
        "races": [race_view(r) for r in e.races],
    }


def race_view(r: Race) -> dict[str, Any]:
    """A race and its call, if any."""
    return {
        "key": r.key,
        "name": r.name,
        "candidates": list(r.candidates or []),
        "called": r.called_at is not None,
        "called_at": events.iso(r.called_at) if r.called_at else None,
        "winner": r.winner,
        "source_url": r.source_url,
    }


def _check_overlap(session: Session, spec: ElectionSpec, exclude: str | None = None) -> None:
    others = [spec_of(e) for e in repo.elections(session) if e.slug != exclude]
    clash = overlapping(spec.jurisdiction, spec.window_dates(), others)
    if clash is not None:
        raise Conflict(
            f"the window {spec.window_dates()[0]}..{spec.window_dates()[1]} overlaps {clash.slug} "
            f"in {spec.jurisdiction}",
            {"field": "window", "overlaps": clash.slug},
        )


def _apply(e: Election, spec: ElectionSpec) -> None:
    e.name, e.jurisdiction, e.provisional = spec.name, spec.jurisdiction, spec.provisional
    e.polling_start, e.polling_end = spec.polling.start, spec.polling.end
    e.window_before_days, e.window_after_days = spec.window.before_days, spec.window.after_days
    e.results_url, e.voting_info_url = spec.sources.results, spec.sources.voting_information
    e.sla_minutes, e.places = spec.sla_minutes, list(spec.places)


def _sync_races(e: Election, races: list[RaceSpec]) -> None:
    known = {r.key: r for r in e.races}
    for spec in races:
        r = known.get(spec.key)
        if r is None:
            e.races.append(Race(key=spec.key, name=spec.name, candidates=list(spec.candidates)))
        else:
            r.name, r.candidates = spec.name, list(spec.candidates)
    dropped = [r for r in e.races if r.key not in {s.key for s in races}]
    if any(r.called_at for r in dropped):
        raise Conflict("a called race cannot be removed", {"field": "races"})
    for r in dropped:
        e.races.remove(r)


def create(session: Session, rt: Runtime, spec: ElectionSpec, actor: str, reason: str = "") -> Election:
    """Store a new election (409 when the slug exists or its window overlaps one of its jurisdiction)."""
    if repo.by_slug(session, spec.slug) is not None:
        raise Conflict(f"election {spec.slug} exists; send a PATCH to change it", {"field": "slug"})
    _check_overlap(session, spec)
    now = rt.now()
    e = Election(slug=spec.slug, created_by=actor, created_at=now, updated_at=now, revision=1, races=[])
    _apply(e, spec)
    _sync_races(e, spec.races)
    session.add(e)
    session.flush([e])
    events.record(
        session,
        "election.created",
        actor=actor,
        subject_type="election",
        subject_id=spec.slug,
        at=now,
        reason=reason,
        payload=spec.model_dump(mode="json"),
    )
    mode.changed(session, rt)
    return e


def update(session: Session, rt: Runtime, slug: str, change: ElectionUpdate, actor: str) -> Election:
    """Change an election; the result is validated whole (schema, overlap) before anything is written."""
    e = repo.by_slug(session, slug, for_update=True)
    if e is None:
        raise NotFound(f"no election {slug}", {"field": "slug"})
    merged = {**spec_of(e).model_dump(mode="json"), **change.model_dump(mode="json", exclude_none=True)}
    merged.pop("reason", None)
    try:
        spec = ElectionSpec.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "body"
        raise Invalid(str(err["msg"]).removeprefix("Value error, "), {"field": field}) from exc
    _check_overlap(session, spec, exclude=slug)
    before = spec_of(e).model_dump(mode="json")
    _sync_races(e, spec.races)
    _apply(e, spec)
    now = rt.now()
    e.updated_at, e.revision = now, e.revision + 1
    after = spec.model_dump(mode="json")
    events.record(
        session,
        "election.updated",
        actor=actor,
        subject_type="election",
        subject_id=slug,
        at=now,
        reason=change.reason,
        payload={
            "changed": {k: after[k] for k in after if after[k] != before.get(k)},
            "revision": e.revision,
        },
    )
    mode.changed(session, rt)
    return e


def call_race(session: Session, rt: Runtime, slug: str, key: str, call: RaceCall, actor: str) -> Race:
    """Record that the official source called a race (claims of victory in it are no longer premature)."""
    e = repo.by_slug(session, slug)
    if e is None:
        raise NotFound(f"no election {slug}", {"field": "slug"})
    r = repo.race(session, e, key)
    if r is None:
        raise NotFound(f"election {slug} has no race {key}", {"field": "race"})
    if r.called_at is not None:
        raise Conflict(f"race {key} was called on {r.called_at.date()}", {"field": "race"})
    now = rt.now()
    r.called_at, r.winner, r.source_url, r.called_by = (
        call.called_at or now,
        call.winner,
        call.source_url,
        actor,
    )
    events.record(
        session,
        "election.race_called",
        actor=actor,
        subject_type="election",
        subject_id=slug,
        at=now,
        reason=call.reason,
        payload={
            "race": key,
            "winner": call.winner,
            "source_url": call.source_url,
            "called_at": events.iso(r.called_at),
        },
    )
    mode.changed(session, rt)
    return r


def seed_from_file(session: Session, rt: Runtime) -> int:
    """Record the elections of `elections.yaml` that the database does not know yet; the count added."""
    from townsquare.elections.calendar import load_file

    known = repo.slugs(session)
    added = 0
    for spec in load_file(rt.settings.elections_file):
        if spec.slug in known:
            continue
        create(session, rt, spec, "file:elections.yaml", "listed in elections.yaml")
        added += 1
    return added
