"""Bearer tokens resolved once, then served from memory until anything that decides them changes.

Resolving a token costs four queries (token, user, roles, freezes) on every request. The cache keeps
the resolved Principal per token hash together with:

- the `access` change stamp read *before* it was resolved: database triggers bump it in the same
  transaction as any change to tokens (revocation, expiry, scopes), users (disabled, renamed, must
  change password), role grants and freezes, from whatever process, CLI or SQL makes it. Every
  request reads the stamp (one tiny query); a different stamp drops the entry, so a revocation, a
  freeze or a changed role applies to the very next request in every process;
- the next instant at which the answer changes with time alone (the token's expiry, a grant's
  expiry, a scheduled freeze starting or ending): the entry is not used from then on.

Unknown, revoked and expired tokens are never cached. The once-a-minute `last_used_at` write is kept.

`cached_token_principal` serves a token already in the cache on a plain connection: the same stamp
read and expiry checks, without an ORM session (which costs more than the query on the ingest path).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.orm import Session

from townsquare import stamps
from townsquare.access.models import ApiToken, Freeze, RoleGrant, StaffUser
from townsquare.access.service import Principal, digest, principal_for_token

_LIMIT = 10_000  # entries per database; the whole cache is dropped when it fills (tokens are few)
_LAST_USED_EVERY = timedelta(minutes=1)  # as `principal_for_token`


@dataclass
class _Entry:
    principal: Principal
    must_change_password: bool
    stamp: stamps.Stamp
    cached_at: datetime
    valid_until: datetime
    last_used_at: datetime | None


class PrincipalCache:
    """Resolved tokens of one database, keyed by token hash."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, key: str, stamp: stamps.Stamp | None, now: datetime) -> _Entry | None:
        """The entry for `key` if it is still exact at `stamp` and `now`."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if stamp is None or entry.stamp != stamp or not entry.cached_at <= now < entry.valid_until:
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry

    def holds(self, key: str) -> bool:
        """Whether an entry for `key` is present (it may still be stale: `get` decides)."""
        return key in self._entries

    def put(self, key: str, entry: _Entry) -> None:
        """Remember a resolved token."""
        with self._lock:
            if len(self._entries) >= _LIMIT:
                self._entries.clear()
            self._entries[key] = entry


_caches: weakref.WeakKeyDictionary[Engine, PrincipalCache] = weakref.WeakKeyDictionary()


def cache_for(engine: Engine) -> PrincipalCache:
    """This process's cache for the database behind `engine`."""
    cache = _caches.get(engine)
    if cache is None:
        cache = _caches.setdefault(engine, PrincipalCache())
    return cache


def _next_change(session: Session, token: ApiToken, user_id: int, now: datetime) -> datetime:
    """The next instant the principal may change by time alone: token or grant expiry, a freeze edge."""
    grant_end = session.scalar(
        select(func.min(RoleGrant.expires_at)).where(
            RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None), RoleGrant.expires_at > now
        )
    )
    edges = [token.expires_at, *([grant_end] if grant_end is not None else [])]
    rows = session.execute(
        select(Freeze.starts_at, Freeze.ends_at).where(
            Freeze.lifted_at.is_(None), (Freeze.starts_at > now) | (Freeze.ends_at > now)
        )
    ).all()
    edges += [t for row in rows for t in row if t is not None and t > now]
    return min(edges)


def _serve(db: Session | Connection, entry: _Entry | None, now: datetime) -> tuple[Principal, bool] | None:
    """A cached entry's answer, writing the token's `last_used_at` once a minute; None without one."""
    if entry is None:
        return None
    if entry.last_used_at is None or now - entry.last_used_at > _LAST_USED_EVERY:
        db.execute(update(ApiToken).where(ApiToken.id == entry.principal.token_id).values(last_used_at=now))
        entry.last_used_at = now
    return entry.principal, entry.must_change_password


def cached_token_principal(engine: Engine, plain: str, now: datetime) -> tuple[Principal, bool] | None:
    """(principal, must change password) for a token the cache holds and that is still exact, checked
    on a plain connection; None when it is not cached or is stale (resolve it with `token_principal`)."""
    cache = cache_for(engine)
    key = digest(plain)
    if not cache.holds(key):
        return None
    with engine.connect() as conn:
        found = _serve(conn, cache.get(key, stamps.read(conn).get(stamps.ACCESS), now), now)
        conn.commit()
    return found


def token_principal(
    session: Session, engine: Engine, plain: str, now: datetime
) -> tuple[Principal, bool] | None:
    """(principal, must change password) behind a bearer token, or None; exact as of this request."""
    cache = cache_for(engine)
    key = digest(plain)
    stamp = stamps.read(session).get(stamps.ACCESS)  # before resolving: a change in between is not missed
    found = _serve(session, cache.get(key, stamp, now), now)
    if found is not None:
        return found
    principal = principal_for_token(session, plain, now)
    if principal is None or principal.user_id is None or principal.token_id is None:
        return None
    user = session.get(StaffUser, principal.user_id)
    token = session.get(ApiToken, principal.token_id)
    must_change = bool(user is not None and user.must_change_password)
    if stamp is not None and token is not None:
        until = _next_change(session, token, principal.user_id, now)
        cache.put(key, _Entry(principal, must_change, stamp, now, until, token.last_used_at))
    return principal, must_change
