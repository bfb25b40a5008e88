"""Ban evasion in the running platform: keep a fingerprint of every banned account, score new accounts
against them, and open a review case with the evidence side by side when one matches.

* When a ban is applied, the account's fingerprint is stored (`ban_fingerprints`): its names, bio,
  links, the domains and writing style of its latest posts, and the device and IP hashes the platform
  sent for it. Raw post text is not kept, only the style vector.
* Device and IP hashes (sent with an account or a profile update) are kept for
  `TOWNSQUARE_FINGERPRINT_RETENTION_DAYS`, then dropped, from the account's record and from stored
  fingerprints alike.
* A new account is scored when it is created, when its profile changes, and when it reaches 5 and 20
  posts (when writing style starts to say something). A match at or above the threshold opens (or
  folds into) a ban-evasion review case whose details hold both accounts' evidence side by side.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from townsquare.bans.fingerprint import AccountProfile, EvasionParams, Fingerprint, Matcher, fingerprint
from townsquare.bans.models import AccountHash, BanFingerprint
from townsquare.content.models import Account, Post
from townsquare.db import EngineCache
from townsquare.eventlog import events
from townsquare.review.intake import Opening, open_case
from townsquare.runtime import Runtime

POST_MILESTONES = (5, 20)
STYLE_POSTS = 200
# Per database: the fingerprints' stamp and the matcher built from them.
_cache: EngineCache[tuple[int, int, int], Matcher] = EngineCache()


def record_hashes(
    session: Session, rt: Runtime, account: Account, devices: list[str], ips: list[str]
) -> None:
    """Keep the hashes the platform sent for an account (each once, with when it was last seen)."""
    now = rt.now()
    for kind, values in (("device", devices), ("ip", ips)):
        for value in dict.fromkeys(values):
            row = session.scalar(
                select(AccountHash).where(
                    AccountHash.account_id == account.id, AccountHash.kind == kind, AccountHash.value == value
                )
            )
            if row is None:
                session.add(AccountHash(account_id=account.id, kind=kind, value=value, seen_at=now))
            else:
                row.seen_at = now


def purge(session: Session, rt: Runtime) -> int:
    """Drop device and IP hashes past the retention period (from accounts and stored fingerprints)."""
    cutoff = rt.now() - timedelta(days=rt.settings.fingerprint_retention_days)
    old = list(session.scalars(select(AccountHash.id).where(AccountHash.seen_at < cutoff)))
    if old:
        session.execute(delete(AccountHash).where(AccountHash.id.in_(old)))
    n = len(old)
    for fp in session.scalars(select(BanFingerprint).where(BanFingerprint.hashes_until < rt.now())):
        fp.device_hashes, fp.ip_hashes, fp.hashes_until = [], [], None
        n += 1
    return n


def _profile(session: Session, account: Account) -> AccountProfile:
    posts = session.scalars(
        select(Post.text).where(Post.author_id == account.id).order_by(Post.id.desc()).limit(STYLE_POSTS)
    ).all()
    hashes = session.execute(
        select(AccountHash.kind, AccountHash.value).where(AccountHash.account_id == account.id)
    )
    devices: list[str] = []
    ips: list[str] = []
    for kind, value in hashes:
        (devices if kind == "device" else ips).append(value)
    return AccountProfile(
        handle=account.handle,
        display_name=account.display_name,
        bio=account.bio,
        links=tuple(account.links or ()),
        posts=tuple(posts),
        device_hashes=tuple(devices),
        ip_hashes=tuple(ips),
    )


def record_ban(session: Session, rt: Runtime, account: Account, action_id: int) -> BanFingerprint:
    """Store the fingerprint of an account that was just banned."""
    purge(session, rt)
    fp = fingerprint(_profile(session, account))
    data = fp.to_dict()
    devices, ips = data.pop("device_hashes", []), data.pop("ip_hashes", [])
    row = BanFingerprint(
        account_id=account.id,
        action_id=action_id,
        data=data,
        device_hashes=devices,
        ip_hashes=ips,
        hashes_until=rt.now() + timedelta(days=rt.settings.fingerprint_retention_days)
        if devices or ips
        else None,
        created_at=rt.now(),
    )
    session.add(row)
    session.flush([row])
    return row


def _matcher(session: Session) -> Matcher | None:
    """A matcher over every stored fingerprint, rebuilt only when fingerprints were added or changed.

    The stamp counts the fingerprints still holding device or IP hashes too, so that a retention purge
    (which clears them in place) is never matched against from a stale cache.
    """
    count, newest, hashed = session.execute(
        select(func.count(), func.max(BanFingerprint.id), func.count(BanFingerprint.hashes_until))
    ).one()
    if not count:
        return None
    stamp = (int(count), int(newest), int(hashed))
    cached = _cache.get(session)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    rows = session.execute(
        select(BanFingerprint, Account.platform_id).join(Account, Account.id == BanFingerprint.account_id)
    ).all()
    banned = [
        (
            pid,
            Fingerprint.from_dict({**fp.data, "device_hashes": fp.device_hashes, "ip_hashes": fp.ip_hashes}),
        )
        for fp, pid in rows
    ]
    matcher = Matcher(banned, EvasionParams())
    _cache.put(session, stamp, matcher)
    return matcher


def check_account(session: Session, rt: Runtime, account: Account, why: str) -> dict[str, Any] | None:
    """Score an account against the banned; on a match, open a ban-evasion case and return the match."""
    if account.standing == "banned":
        return None
    matcher = _matcher(session)
    if matcher is None:
        return None
    found = matcher.best(fingerprint(_profile(session, account)))
    if found is None:
        return None
    banned_pid, match = found
    if banned_pid == account.platform_id:
        return None
    details = {
        "banned_account": banned_pid,
        "score": round(match.score, 4),
        "components": match.components,
        "evidence": match.evidence,
        "trigger": why,
    }
    spec = rt.policies.live("ban_evasion")
    case = open_case(
        session,
        rt,
        Opening(
            "review",
            "ban_evasion",
            account=account,
            policy="ban_evasion",
            severity=spec.policy.severity if spec else "high",
            score=match.score,
            scorer="ban_evasion.fingerprint",
            reasons=["ban_evasion_match"],
        ),
    )
    case.details = details
    events.record(
        session,
        "ban_evasion.matched",
        actor="service:ban-evasion",
        subject_type="account",
        subject_id=account.platform_id,
        at=rt.now(),
        reason=why,
        payload={
            "banned_account": banned_pid,
            "score": details["score"],
            "case_id": case.id,
            "components": match.components,
        },
    )
    return details


_POST_COUNTS = (  # built once: runs after every ingest
    select(Post.author_id, func.count())
    .where(Post.author_id.in_(bindparam("ids", expanding=True)))
    .group_by(Post.author_id)
)


def check_milestones(session: Session, rt: Runtime, author_ids: set[int]) -> int:
    """Re-score authors whose post count has just reached a milestone (writing style says more then)."""
    if not author_ids:
        return 0
    counts = session.execute(_POST_COUNTS, {"ids": list(author_ids)}).all()
    checked = 0
    for author_id, n in counts:
        if int(n) in POST_MILESTONES:
            account = session.get(Account, author_id)
            if account is not None:
                check_account(session, rt, account, f"reached {int(n)} posts")
                checked += 1
    return checked
