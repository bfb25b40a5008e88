"""Impressions: record the ad server's batches with what each placement carried when it was served.

A batch is all or nothing: an unknown advertiser, post or profile, a profile of another advertiser, or
an impression id reused with different contents refuses the whole batch (422/409 naming the item and
field) and stores nothing. Sending the same impression again is harmless (counted as `repeated`).
What a placement carried when served is read from the label history: the latest row recorded at or
before `served_at` (if the post was labelled only later, its first row, flagged `labelled_after`).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from townsquare.access.service import Principal
from townsquare.brandsafety import repository as repo
from townsquare.brandsafety.models import AccountState, Impression, PostLabels, Profile
from townsquare.brandsafety.schemas import ImpressionBatch, ImpressionIn
from townsquare.errors import Conflict, Invalid
from townsquare.eventlog import events
from townsquare.runtime import Runtime


def _fail(i: int, field: str, message: str) -> Invalid:
    return Invalid(f"impressions[{i}].{field}: {message}", {"field": f"impressions.{i}.{field}"})


def _at(rows: list[Any], when: datetime) -> Any | None:
    """The latest row recorded at or before `when` (rows oldest first)."""
    times = [r.recorded_at for r in rows]
    i = bisect_right(times, when)
    return rows[i - 1] if i else None


def served_state(labels: list[PostLabels], standings: list[AccountState], when: datetime) -> dict[str, Any]:
    """What a placement carried at `when`: status, author standing, labels (category and risk)."""
    row = _at(labels, when)
    after = row is None
    row = row or labels[0]
    st = _at(standings, when)
    standing = st.standing if st is not None else "good"
    if (
        standing == "suspended"
        and st is not None
        and st.standing_until is not None
        and st.standing_until <= when
    ):
        standing = "good"
    return {
        "status": row.status,
        "standing": standing,
        "labels": [{"category": x["category"], "risk": x["risk"]} for x in row.labels],
        "label_seq": row.seq,
        "label_version": row.label_version,
        **({"labelled_after": True} if after else {}),
    }


def _validate(
    session: Session, items: list[ImpressionIn]
) -> tuple[dict[str, Any], dict[str, int], dict[int, Profile]]:
    advertisers = repo.advertisers_by_key(session, [x.advertiser for x in items])
    posts = repo.post_ids(session, [x.post for x in items])
    profiles: dict[int, Profile] = {}
    for i, x in enumerate(items):
        adv = advertisers.get(x.advertiser)
        if adv is None:
            raise _fail(i, "advertiser", f"unknown advertiser {x.advertiser}")
        if x.post not in posts:
            raise _fail(i, "post", f"unknown post {x.post}")
        if x.profile is not None:
            p = profiles.get(x.profile) or repo.profile(session, x.profile)
            if p is None or p.advertiser_id != adv.id:
                raise _fail(i, "profile", f"no profile {x.profile} of advertiser {x.advertiser}")
            profiles[p.id] = p
    return advertisers, posts, profiles


def _new(
    session: Session, items: list[ImpressionIn], advertisers: dict[str, Any], posts: dict[str, int]
) -> list[tuple[int, ImpressionIn]]:
    """The impressions not stored yet; a reused id with other contents is refused."""
    stored = repo.impression_keys(session, {a.id for a in advertisers.values()}, [x.id for x in items])
    seen: dict[tuple[int, str], ImpressionIn] = {}
    out = []
    for i, x in enumerate(items):
        key = (advertisers[x.advertiser].id, x.id)
        old = stored.get(key)
        first = seen.get(key)
        if old is not None:
            if old.post_id != posts[x.post] or old.ad_id != x.ad or old.served_at != x.served_at:
                raise Conflict(
                    f"impressions[{i}].id: {x.id} was recorded with other contents",
                    {"field": f"impressions.{i}.id"},
                )
            continue
        if first is not None:
            if first.model_dump() != x.model_dump():
                raise Conflict(
                    f"impressions[{i}].id: {x.id} appears twice with other contents",
                    {"field": f"impressions.{i}.id"},
                )
            continue
        seen[key] = x
        out.append((i, x))
    return out


def record(session: Session, rt: Runtime, who: Principal, batch: ImpressionBatch) -> dict[str, Any]:
    """Store a batch of impressions with their serving-time labels; all or nothing."""
    items = batch.impressions
    advertisers, posts, _ = _validate(session, items)
    fresh = _new(session, items, advertisers, posts)
    history = repo.label_history(session, [posts[x.post] for _, x in fresh])
    for i, x in fresh:
        if posts[x.post] not in history:
            raise _fail(
                i,
                "post",
                f"post {x.post} has no brand-safety labels yet (run `townsquare brand-safety reindex`)",
            )
    account_of = {pid: rows[-1].account_id for pid, rows in history.items()}
    standings = repo.standing_history(session, account_of.values())
    now = rt.now()
    rows = []
    for _, x in fresh:
        post_id = posts[x.post]
        state = served_state(history[post_id], standings.get(account_of[post_id], []), x.served_at)
        rows.append(
            {
                "advertiser_id": advertisers[x.advertiser].id,
                "impression_id": x.id,
                "ad_id": x.ad,
                "post_id": post_id,
                "profile_id": x.profile,
                "served_at": x.served_at,
                "served": state,
                "recorded_at": now,
            }
        )
    if rows:
        session.execute(insert(Impression), rows)
        events.record(
            session, "brandsafety.impressions_recorded", actor=who.actor, subject_type="advertisers",
            subject_id=",".join(sorted({x.advertiser for _, x in fresh}))[:128], at=now,
            payload={"count": len(rows)},
        )  # fmt: skip
    return {"stored": len(rows), "repeated": len(items) - len(rows)}
