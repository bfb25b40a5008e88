"""Identities: users, role grants, API tokens, sessions, and turning a credential into a Principal."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.models import ApiToken, Freeze, LoginSession, RoleGrant, StaffUser
from townsquare.access.passwords import check_password_strength
from townsquare.access.roles import ROLES, permissions_of
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events

TOKEN_PREFIX = "ts_"
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Principal:
    """Who is calling and what they may do now; `actor` is how events name them."""

    actor: str
    permissions: frozenset[str]
    user_id: int | None = None
    username: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    via: str = "token"  # token | session
    frozen: bool = False
    read_only: bool = False
    session_id: int | None = None
    token_id: int | None = None

    def has(self, permission: str) -> bool:
        """Whether this principal holds `permission` now."""
        return permission in self.permissions

    def need(self, permission: str) -> None:
        """Refuse with 403 unless this principal holds `permission`."""
        if permission not in self.permissions:
            raise Forbidden(f"missing permission {permission}", {"permission": permission})


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored argon2 hash."""
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """SHA-256 of a high-entropy secret (tokens, cookies); they are random, so no slow hash is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(prefix: str = TOKEN_PREFIX) -> str:
    """A fresh random credential."""
    return prefix + secrets.token_urlsafe(32)


def user_by_name(session: Session, username: str) -> StaffUser:
    """A user by username, or NotFound."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        raise NotFound(f"no user {username}", {"field": "username"})
    return user


def active_grants(session: Session, user_id: int, now: datetime) -> list[RoleGrant]:
    """Grants in force now (not revoked, not expired), oldest first."""
    return list(
        session.scalars(
            select(RoleGrant)
            .where(RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None))
            .where((RoleGrant.expires_at.is_(None)) | (RoleGrant.expires_at > now))
            .order_by(RoleGrant.id)
        )
    )


def active_roles(session: Session, user_id: int, now: datetime) -> frozenset[str]:
    """Roles currently held (not revoked, not expired)."""
    rows = session.scalars(
        select(RoleGrant.role)
        .where(RoleGrant.user_id == user_id, RoleGrant.revoked_at.is_(None))
        .where((RoleGrant.expires_at.is_(None)) | (RoleGrant.expires_at > now))
    )
    return frozenset(rows)


def create_user(
    session: Session,
    *,
    username: str,
    actor: str,
    now: datetime,
    display_name: str = "",
    kind: str = "person",
    password: str | None = None,
    must_change_password: bool = False,
) -> StaffUser:
    """Create a staff user (no roles yet)."""
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise Conflict(f"user {username} exists", {"field": "username"})
    if password is not None:
        check_password_strength(password, (username, display_name))
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        kind=kind,
        password_hash=hash_password(password) if password else None,
        must_change_password=must_change_password,
        created_at=now,
        created_by=actor,
    )
    session.add(user)
    session.flush([user])
    events.record(
        session,
        "user.created",
        actor=actor,
        subject_type="user",
        subject_id=username,
        at=now,
        payload={"kind": kind},
    )
    return user


def grant_role(
    session: Session,
    granter: Principal | None,
    user: StaffUser,
    role: str,
    *,
    actor: str,
    now: datetime,
    reason: str = "",
    expires_at: datetime | None = None,
    break_glass: bool = False,
) -> RoleGrant:
    """Grant a role; the granter must hold every permission the role carries (None: system bootstrap)."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role}", {"field": "role"})
    if granter is not None:
        missing = ROLES[role] - granter.permissions
        if missing:
            raise Forbidden(
                f"you cannot grant {role}: you lack {', '.join(sorted(missing))}", {"field": "role"}
            )
        if granter.user_id == user.id:
            raise Forbidden("no one may grant roles to themselves", {"field": "username"})
    if role in active_roles(session, user.id, now) and not break_glass:
        raise Conflict(f"{user.username} already holds {role}", {"field": "role"})
    grant = RoleGrant(
        user_id=user.id,
        role=role,
        granted_by=actor,
        granted_at=now,
        expires_at=expires_at,
        break_glass=break_glass,
        reason=reason,
    )
    session.add(grant)
    session.flush([grant])
    events.record(
        session,
        "role.granted",
        actor=actor,
        subject_type="user",
        subject_id=user.username,
        at=now,
        reason=reason,
        payload={
            "role": role,
            "break_glass": break_glass,
            "expires_at": events.iso(expires_at) if expires_at else None,
        },
    )
    return grant


def revoke_role(
    session: Session, user: StaffUser, role: str, *, actor: str, now: datetime, reason: str = ""
) -> int:
    """Revoke every active grant of `role`; returns how many."""
    grants = list(
        session.scalars(
            select(RoleGrant).where(
                RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.revoked_at.is_(None)
            )
        )
    )
    if not grants:
        raise NotFound(f"{user.username} does not hold {role}", {"field": "role"})
    for g in grants:
        g.revoked_at, g.revoked_by = now, actor
    events.record(
        session,
        "role.revoked",
        actor=actor,
        subject_type="user",
        subject_id=user.username,
        at=now,
        reason=reason,
        payload={"role": role},
    )
    return len(grants)


def create_token(
    session: Session,
    user: StaffUser,
    *,
    name: str,
    scopes: list[str] | None,
    days: int,
    actor: str,
    now: datetime,
    holder: Principal | None = None,
) -> tuple[str, ApiToken]:
    """Issue a token (returned once, stored hashed) scoped to at most what the user (and issuer) hold."""
    held = permissions_of(active_roles(session, user.id, now))
    wanted = frozenset(scopes) if scopes else held
    extra = wanted - held
    if extra:
        raise Invalid(f"{user.username} does not hold {', '.join(sorted(extra))}", {"field": "scopes"})
    if holder is not None and holder.user_id != user.id and (wanted - holder.permissions):
        raise Forbidden("you cannot issue a token with permissions you lack", {"field": "scopes"})
    if not 1 <= days <= 366:
        raise Invalid("a token lives between 1 and 366 days", {"field": "days"})
    plain = new_secret()
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=plain[:10],
        token_hash=digest(plain),
        scopes=sorted(wanted),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush([token])
    events.record(
        session,
        "token.created",
        actor=actor,
        subject_type="user",
        subject_id=user.username,
        at=now,
        payload={
            "token_id": token.id,
            "name": name,
            "prefix": token.prefix,
            "scopes": token.scopes,
            "expires_at": events.iso(token.expires_at),
        },
    )
    return plain, token


def revoke_token(session: Session, token: ApiToken, *, actor: str, now: datetime) -> None:
    """Revoke a token at once."""
    if token.revoked_at is not None:
        raise Conflict("token already revoked", {"field": "token_id"})
    token.revoked_at = now
    events.record(
        session,
        "token.revoked",
        actor=actor,
        subject_type="token",
        subject_id=str(token.id),
        at=now,
        payload={"prefix": token.prefix},
    )


def active_freezes(session: Session, now: datetime) -> list[Freeze]:
    """Freezes in force now."""
    return list(
        session.scalars(
            select(Freeze).where(
                Freeze.lifted_at.is_(None),
                Freeze.starts_at <= now,
                (Freeze.ends_at.is_(None)) | (Freeze.ends_at > now),
            )
        )
    )


def freeze_state(user: StaffUser, roles: frozenset[str], freezes: list[Freeze]) -> tuple[bool, bool]:
    """(frozen, read_only) for a user; an 'all' freeze spares admins, so that they can lift it."""
    hits = [
        f
        for f in freezes
        if (f.scope == "user" and f.target == user.username)
        or (f.scope == "role" and f.target in roles)
        or (f.scope == "all" and "admin" not in roles)
    ]
    if not hits:
        return False, False
    return True, all(f.read_only for f in hits)


def _principal(
    session: Session,
    user: StaffUser,
    now: datetime,
    scopes: list[str] | None,
    *,
    via: str,
    session_id: int | None = None,
    token_id: int | None = None,
) -> Principal:
    roles = active_roles(session, user.id, now)
    perms = permissions_of(roles)
    if scopes is not None:
        perms = perms & frozenset(scopes)
    frozen, read_only = freeze_state(user, roles, active_freezes(session, now))
    actor = f"{'service' if user.kind == 'service' else 'user'}:{user.username}"
    return Principal(
        actor=actor,
        permissions=perms,
        user_id=user.id,
        username=user.username,
        roles=roles,
        frozen=frozen,
        read_only=read_only,
        via=via,
        session_id=session_id,
        token_id=token_id,
    )


def principal_for_token(session: Session, plain: str, now: datetime) -> Principal | None:
    """The principal behind a bearer token, or None when unknown, expired, revoked or its user disabled."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(plain)))
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = session.get(StaffUser, token.user_id)
    if user is None or user.status != "active":
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now  # at most once a minute, so reads do not all become writes
    return _principal(session, user, now, list(token.scopes), via="token", token_id=token.id)


def principal_for_session(
    session: Session, cookie: str, now: datetime
) -> tuple[Principal, LoginSession] | None:
    """The principal behind a UI session cookie, or None."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == digest(cookie)))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(StaffUser, row.user_id)
    if user is None or user.status != "active":
        return None
    return _principal(session, user, now, None, via="session", session_id=row.id), row
