"""Advertisers, members, profiles, the check and label views; scoped to what the caller may see.

An advertiser's staff see and change only their own advertiser's records. A principal holding
`brandsafety:admin` sees every advertiser; the platform's ad server (`brandsafety:impressions`) may check
against any profile, since it serves every advertiser's ads. A record outside the caller's scope is
answered exactly like a missing one (404), so its existence does not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from townsquare.access.roles import BRANDSAFETY_ADMIN, BRANDSAFETY_IMPRESSIONS
from townsquare.access.service import Principal, user_by_name
from townsquare.brandsafety import check as checker
from townsquare.brandsafety import repository as repo
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.index import cache_for
from townsquare.brandsafety.models import Advertiser, AdvertiserMember, Profile
from townsquare.brandsafety.schemas import AdvertiserCreate, CheckRequest, ProfileCreate, ProfileUpdate
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime

_LISTS = ("excluded_keywords", "excluded_accounts", "allowed_accounts", "allowed_posts")


def scope(session: Session, who: Principal) -> set[int] | None:
    """The advertiser ids the caller may see; None: all of them."""
    if who.has(BRANDSAFETY_ADMIN):
        return None
    return repo.member_advertisers(session, who.user_id) if who.user_id is not None else set()


def _visible(
    session: Session, who: Principal, advertiser: Advertiser | None, field: str, name: str
) -> Advertiser:
    allowed = scope(session, who)
    if advertiser is None or (allowed is not None and advertiser.id not in allowed):
        raise NotFound(f"no advertiser {name}", {"field": field})
    return advertiser


def advertiser_view(a: Advertiser) -> dict[str, Any]:
    """An advertiser as the API shows it."""
    return {"key": a.key, "name": a.name, "created_at": a.created_at.isoformat()}


def create_advertiser(session: Session, rt: Runtime, who: Principal, data: AdvertiserCreate) -> Advertiser:
    """A new advertiser (brand-safety admins)."""
    if repo.advertiser_by_key(session, data.key) is not None:
        raise Conflict(f"advertiser {data.key} exists", {"field": "key"})
    now = rt.now()
    adv = Advertiser(key=data.key, name=data.name, created_at=now, created_by=who.actor)
    session.add(adv)
    session.flush()
    events.record(
        session, "brandsafety.advertiser_created", actor=who.actor, subject_type="advertiser",
        subject_id=data.key, at=now, payload={"name": data.name},
    )  # fmt: skip
    return adv


def add_member(session: Session, rt: Runtime, who: Principal, key: str, username: str) -> dict[str, Any]:
    """Let a staff user act for an advertiser."""
    adv = _visible(session, who, repo.advertiser_by_key(session, key), "advertiser", key)
    user = user_by_name(session, username)
    session.flush()
    if repo.is_member(session, adv.id, user.id):
        raise Conflict(f"{username} already acts for {key}", {"field": "username"})
    now = rt.now()
    session.add(AdvertiserMember(advertiser_id=adv.id, user_id=user.id, added_by=who.actor, added_at=now))
    events.record(
        session, "brandsafety.member_added", actor=who.actor, subject_type="advertiser", subject_id=key,
        at=now, payload={"username": username},
    )  # fmt: skip
    return {"advertiser": key, "username": username}


def list_advertisers(session: Session, who: Principal) -> list[dict[str, Any]]:
    """The advertisers the caller may see."""
    return [advertiser_view(a) for a in repo.advertisers(session, scope(session, who))]


def profile_view(p: Profile, key: str) -> dict[str, Any]:
    """A profile as the API shows it, with its effective tolerance per category."""
    base = tx.preset_tolerance(p.preset)
    return {
        "id": p.id,
        "advertiser": key,
        "name": p.name,
        "preset": p.preset,
        "version": p.version,
        "tolerances": dict(p.tolerances),
        "effective": {c: p.tolerances.get(c, base) for c in tx.CATEGORY_IDS},
        **{name: list(getattr(p, name)) for name in _LISTS},
        "updated_at": p.updated_at.isoformat(),
        "updated_by": p.updated_by,
    }


def _check_refs(session: Session, data: ProfileCreate | ProfileUpdate) -> None:
    """Excluded and allowed accounts and posts must exist (an unknown id is a typo nobody would notice)."""
    for name, finder in (
        ("excluded_accounts", repo.existing_accounts),
        ("allowed_accounts", repo.existing_accounts),
        ("allowed_posts", repo.existing_posts),
    ):
        values = getattr(data, name)
        if not values:
            continue
        found = finder(session, values)
        for i, v in enumerate(values):
            if v not in found:
                raise Invalid(f"{name}[{i}]: unknown id {v}", {"field": f"{name}.{i}"})


def create_profile(session: Session, rt: Runtime, who: Principal, data: ProfileCreate) -> dict[str, Any]:
    """A new profile for one of the caller's advertisers."""
    adv = _visible(
        session, who, repo.advertiser_by_key(session, data.advertiser), "advertiser", data.advertiser
    )
    _check_refs(session, data)
    now = rt.now()
    p = Profile(
        advertiser_id=adv.id,
        name=data.name,
        preset=data.preset,
        tolerances=data.tolerances or {},
        **{name: _unique(getattr(data, name) or []) for name in _LISTS},
        version=1,
        created_at=now,
        updated_at=now,
        updated_by=who.actor,
    )
    session.add(p)
    session.flush()
    _event(session, who, p, adv.key, "brandsafety.profile_created")
    return profile_view(p, adv.key)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _event(session: Session, who: Principal, p: Profile, key: str, kind: str) -> None:
    events.record(
        session, kind, actor=who.actor, subject_type="brandsafety_profile", subject_id=str(p.id),
        at=p.updated_at, payload={
            "advertiser": key, "version": p.version, "preset": p.preset, "tolerances": dict(p.tolerances),
            **{f"{name}_count": len(getattr(p, name)) for name in _LISTS},
        },
    )  # fmt: skip


def visible_profile(
    session: Session, who: Principal, profile_id: int, *, any_advertiser: bool = False
) -> tuple[Profile, str]:
    """A profile the caller may use, with its advertiser's key; 404 naming `profile` otherwise."""
    p = repo.profile(session, profile_id)
    allowed = None if any_advertiser else scope(session, who)
    if p is None or (allowed is not None and p.advertiser_id not in allowed):
        raise NotFound(f"no profile {profile_id}", {"field": "profile"})
    adv = session.get(Advertiser, p.advertiser_id)
    return p, adv.key if adv is not None else ""


def update_profile(
    session: Session, rt: Runtime, who: Principal, profile_id: int, data: ProfileUpdate
) -> dict[str, Any]:
    """Change a profile (only the fields sent); every change is a new version and an event."""
    p, key = visible_profile(session, who, profile_id)
    _check_refs(session, data)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if not changes:
        raise Invalid("nothing to change", {"field": "body"})
    for name, value in changes.items():
        setattr(p, name, _unique(value) if name in _LISTS else value)
    p.version += 1
    p.updated_at, p.updated_by = rt.now(), who.actor
    _event(session, who, p, key, "brandsafety.profile_updated")
    return profile_view(p, key)


def list_profiles(session: Session, who: Principal) -> list[dict[str, Any]]:
    """The caller's profiles (every profile for a brand-safety admin)."""
    keys = {a.id: a.key for a in repo.advertisers(session, scope(session, who))}
    return [profile_view(p, keys.get(p.advertiser_id, "")) for p in repo.profiles(session, set(keys))]


def check(session: Session, rt: Runtime, who: Principal, data: CheckRequest) -> dict[str, Any]:
    """Allowed or blocked, with reasons, for each placement under one profile."""
    serves_all = who.has(BRANDSAFETY_IMPRESSIONS) or who.has(BRANDSAFETY_ADMIN)
    p, _ = visible_profile(session, who, data.profile, any_advertiser=serves_all)
    prof = checker.PROFILES.get(p)
    cache = cache_for(session)
    entries = []
    for i, pid in enumerate(data.placements):
        e = cache.by_pid.get(pid)
        if e is None:
            raise Invalid(f"placements[{i}]: unknown post {pid}", {"field": f"placements.{i}"})
        entries.append(e)
    results = checker.check_many(cache, prof, entries, rt.now())
    blocked = sum(1 for r in results if not r["allowed"])
    return {"profile": p.id, "profile_version": p.version, "blocked": blocked, "results": results}


def post_labels(session: Session, pid: str) -> dict[str, Any]:
    """A post's current labels, status and label version, as the index holds them."""
    cache = cache_for(session)
    e = cache.by_pid.get(pid)
    if e is None:
        raise NotFound(f"no labels for post {pid}", {"field": "platform_id"})
    return {
        "post": e.pid,
        "account": e.account_pid,
        "status": e.status,
        "label_version": e.label_version,
        "labels": [{**lab, "name": tx.category_name(lab["category"])} for lab in e.labels],
    }


def account_labels(session: Session, rt: Runtime, pid: str) -> dict[str, Any]:
    """An account's labels (from ACCOUNT_SHARE of its posts and its account actions) and standing."""
    cache = cache_for(session)
    found = next(((aid, a) for aid, a in cache.accounts.items() if a.pid == pid), None)
    if found is None:
        raise NotFound(f"no labels for account {pid}", {"field": "platform_id"})
    aid, acct = found
    worst = dict(cache.account_labels(aid))
    return {
        "account": pid,
        "standing": acct.current_standing(rt.now()),
        "posts": len(acct.posts),
        "labels": [
            {"category": c, "name": tx.category_name(c), "risk": tx.RISK_IDS[r - 1]}
            for c, r in sorted(worst.items())
        ],
    }
