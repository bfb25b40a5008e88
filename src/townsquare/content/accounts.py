"""Accounts: create, update the profile (every version kept), erase personal data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.bans import service as bans
from townsquare.brandsafety import hooks as brandsafety
from townsquare.content import repository as repo
from townsquare.content.models import Account, AccountProfile, Post, PostVersion, Report
from townsquare.content.schemas import AccountCreate, AccountUpdate
from townsquare.errors import Conflict
from townsquare.eventlog import crypto, events
from townsquare.runtime import Runtime

_PROFILE = ("handle", "display_name", "bio", "links", "follower_count", "verified", "protected")
_PERSONAL = ("handle", "display_name", "bio", "links")


def _profile_row(account: Account, now: Any) -> AccountProfile:
    return AccountProfile(
        account=account,
        version=account.profile_version,
        **{k: getattr(account, k) for k in _PROFILE},
        recorded_at=now,
    )


def _personal(values: dict[str, Any]) -> dict[str, str]:
    out = {}
    for key in _PERSONAL:
        if key in values:
            value = values[key]
            out[key] = " ".join(value) if isinstance(value, list) else str(value)
    return out


def _same(account: Account, data: AccountCreate) -> bool:
    links = [str(u) for u in data.links]
    return (
        account.handle == data.handle
        and account.display_name == data.display_name
        and (account.bio == data.bio and account.links == links)
    )


def create_account(session: Session, rt: Runtime, data: AccountCreate, actor: str) -> tuple[Account, bool]:
    """Store a new account; the same account sent again is returned unchanged (created=False)."""
    existing = repo.accounts_by_pid(session, [data.platform_id]).get(data.platform_id)
    if existing is not None:
        if not _same(existing, data):
            raise Conflict(
                f"account {data.platform_id} exists with a different profile; send a PATCH to update it",
                {"field": "platform_id"},
            )
        return existing, False
    now = rt.now()
    values = data.model_dump(exclude={"platform_id", "created_at", "device_hashes", "ip_hashes"})
    values["links"] = [str(u) for u in data.links]
    account = Account(platform_id=data.platform_id, created_at=data.created_at, ingested_at=now, **values)
    session.add(account)
    session.flush([account])
    crypto.create_key(session, account.id, now)
    session.add(_profile_row(account, now))
    events.record(
        session,
        "account.created",
        actor=actor,
        subject_type="account",
        subject_id=account.platform_id,
        at=now,
        payload={k: values[k] for k in ("follower_count", "verified", "protected")},
        personal=_personal(values),
        owner=account.id,
    )
    bans.record_hashes(session, rt, account, data.device_hashes, data.ip_hashes)
    session.flush()
    bans.check_account(session, rt, account, "account created")
    return account, True


def update_account(session: Session, rt: Runtime, pid: str, data: AccountUpdate, actor: str) -> Account:
    """Apply a profile update as a new profile version."""
    account = repo.account(session, pid, for_update=True)
    if account.erased_at is not None:
        raise Conflict(f"account {pid} was erased", {"field": "account"})
    changes = data.model_dump(exclude_unset=True, exclude_none=True, exclude={"device_hashes", "ip_hashes"})
    if data.device_hashes or data.ip_hashes:
        bans.record_hashes(session, rt, account, data.device_hashes or [], data.ip_hashes or [])
        session.flush()
    if "links" in changes:
        changes["links"] = [str(u) for u in data.links or []]
    changes = {k: v for k, v in changes.items() if getattr(account, k) != v}
    if not changes:
        return account
    now = rt.now()
    for key, value in changes.items():
        setattr(account, key, value)
    account.profile_version += 1
    session.add(_profile_row(account, now))
    public = {k: v for k, v in changes.items() if k not in _PERSONAL}
    events.record(
        session,
        "account.updated",
        actor=actor,
        subject_type="account",
        subject_id=pid,
        at=now,
        payload={"profile_version": account.profile_version, "changed": sorted(changes), **public},
        personal=_personal(changes),
        owner=account.id,
    )
    bans.check_account(session, rt, account, "profile updated")
    return account


def erase_account(session: Session, rt: Runtime, pid: str, actor: str, reason: str) -> Account:
    """Erase an account's personal data: delete its key and blank the projections; the chain stays valid."""
    account = repo.account(session, pid, for_update=True)
    if account.erased_at is not None:
        raise Conflict(f"account {pid} was already erased", {"field": "account"})
    now = rt.now()
    crypto.erase_key(session, account.id)
    account.handle, account.display_name, account.bio, account.links = crypto.ERASED, "", "", []
    account.erased_at = now
    session.execute(
        update(AccountProfile)
        .where(AccountProfile.account_id == account.id)
        .values(handle=crypto.ERASED, display_name="", bio="", links=[])
    )
    post_ids = select(Post.id).where(Post.author_id == account.id).scalar_subquery()
    session.execute(update(Post).where(Post.author_id == account.id).values(text=crypto.ERASED))
    session.execute(update(PostVersion).where(PostVersion.post_id.in_(post_ids)).values(text=crypto.ERASED))
    session.execute(update(Report).where(Report.reporter_id == account.id).values(text=""))
    events.record(
        session, "account.erased", actor=actor, subject_type="account", subject_id=pid, at=now, reason=reason
    )
    brandsafety.account_erased(session, account, now)
    return account
