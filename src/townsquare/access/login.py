"""Logins: password and TOTP checks, UI sessions, logout, password changes, TOTP enrolment.

Nothing here puts a password, a session cookie, a token or a TOTP secret into an event or a log.
A failed login is returned rather than raised, so the caller commits the failure count before refusing
the request; raising would roll it back. Failed logins do not lock an account: they slow its username
down (access/ratelimit.py), and they are recorded as one aggregated event per address and window
(access/login_guard.py). A TOTP code is accepted once: its time step must be later than the last one.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

import pyotp
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.access.models import LoginSession, StaffUser
from townsquare.access.passwords import check_password_strength
from townsquare.access.service import (
    active_roles,
    digest,
    hash_password,
    new_secret,
    verify_password,
)
from townsquare.errors import Conflict, Forbidden, Invalid, TownsquareError, Unauthorized
from townsquare.eventlog import events
from townsquare.runtime import Runtime

# StaffUser has one TOTP column: a secret awaiting its first code is stored with this prefix.
TOTP_PENDING = "pending:"
TOTP_ISSUER = "Townsquare"
TOTP_DIGITS = 6
ANONYMOUS = "anonymous"
SESSION_PREFIX = "tss_"


@dataclass
class LoginResult:
    """The outcome of a login attempt: a new session, or the error to answer with."""

    error: TownsquareError | None = None
    user: StaffUser | None = None
    failed: bool = False  # a wrong credential (counted); not a missing TOTP code
    cookie: str = ""  # the session cookie's plaintext value; only its digest is stored
    csrf_token: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    max_age: int = 0


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def totp_enabled(user: StaffUser) -> bool:
    """Whether the user has a confirmed TOTP second factor."""
    return bool(user.totp_secret) and not str(user.totp_secret).startswith(TOTP_PENDING)


def _totp_step(secret: str, code: str, rt: Runtime, after: int | None) -> int | None:
    """The time step (now, or one either side) whose code is `code`, if later than `after`."""
    code = code.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == TOTP_DIGITS):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(rt.now())
    for step in (now_step - 1, now_step, now_step + 1):
        if (after is None or step > after) and hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def use_totp(session: Session, rt: Runtime, user: StaffUser, secret: str, code: str) -> bool:
    """Accept a TOTP code once: its step must be later than the last accepted one, claimed atomically.

    The conditional UPDATE is what keeps a code single-use when two requests race with it.
    """
    step = _totp_step(secret, code, rt, user.totp_last_step)
    if step is None:
        return False
    last = StaffUser.totp_last_step
    claimed = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, (last.is_(None)) | (last < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(claimed, "rowcount", 0) or 0) != 1:
        return False
    user.totp_last_step = step
    return True


def _refusal(
    session: Session, rt: Runtime, user: StaffUser, password: str, totp: str | None
) -> TownsquareError | None:
    """The error for a known, active user's attempt, or None when the credentials are good."""
    if not verify_password(user.password_hash, password):
        return Unauthorized("wrong username or password", {"field": "password"})
    if totp_enabled(user):
        if not totp:
            return Unauthorized("this account needs a TOTP code", {"field": "totp", "totp_required": True})
        if not use_totp(session, rt, user, str(user.totp_secret), totp):
            return Unauthorized("wrong, expired or already used TOTP code", {"field": "totp"})
    return None


def attempt_login(
    session: Session, rt: Runtime, username: str, password: str, totp: str | None, client: str
) -> LoginResult:
    """Check a login; on success open a UI session (and record it). Failures are returned, never raised."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or user.status != "active" or not user.password_hash:
        verify_password(_dummy_hash(), password)  # the same work as a real check: no probing for names
        return LoginResult(
            error=Unauthorized("wrong username or password", {"field": "password"}), failed=True
        )
    error = _refusal(session, rt, user, password, totp)
    if error is not None:
        failed = not (error.detail or {}).get("totp_required", False)
        if failed:
            user.failed_logins = (user.failed_logins or 0) + 1
        return LoginResult(error=error, user=user, failed=failed)
    now = rt.now()
    user.failed_logins, user.last_login_at = 0, now
    cookie, row = open_session(session, rt, user)
    events.record(
        session,
        "login.succeeded",
        actor=f"user:{user.username}",
        subject_type="user",
        subject_id=user.username,
        at=now,
        payload={
            "client": client,
            "factors": "password+totp" if totp_enabled(user) else "password",
            "session_id": row.id,
        },
    )
    return LoginResult(
        user=user,
        cookie=cookie,
        csrf_token=row.csrf_token,
        roles=active_roles(session, user.id, now),
        max_age=int(rt.settings.session_hours * 3600),
    )


def open_session(session: Session, rt: Runtime, user: StaffUser) -> tuple[str, LoginSession]:
    """A new UI session for `user`: returns the cookie value (shown once) and the stored row."""
    now = rt.now()
    cookie = new_secret(SESSION_PREFIX)
    row = LoginSession(
        user_id=user.id,
        token_hash=digest(cookie),
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + timedelta(hours=rt.settings.session_hours),
    )
    session.add(row)
    session.flush([row])
    return cookie, row


def logout(session: Session, rt: Runtime, session_id: int, actor: str) -> None:
    """End one UI session at once."""
    row = session.get(LoginSession, session_id)
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = rt.now()
    user = session.get(StaffUser, row.user_id)
    events.record(
        session,
        "logout",
        actor=actor,
        subject_type="user",
        subject_id=user.username if user else str(row.user_id),
        at=rt.now(),
        payload={"session_id": row.id},
    )


def end_sessions(session: Session, rt: Runtime, user_id: int, *, keep: int | None = None) -> int:
    """Revoke every live session of a user (except `keep`); returns how many."""
    stmt = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    result = session.execute(stmt.values(revoked_at=rt.now()))
    return int(getattr(result, "rowcount", 0) or 0)


def _user(session: Session, user_id: int | None) -> StaffUser:
    user = session.get(StaffUser, user_id) if user_id is not None else None
    if user is None:
        raise Forbidden("only a staff user can do this", {"field": "user"})
    return user


def change_password(
    session: Session,
    rt: Runtime,
    user_id: int | None,
    current: str,
    new: str,
    *,
    actor: str,
    keep_session: int | None = None,
) -> StaffUser:
    """Change one's own password (the current one is needed); other sessions end."""
    user = _user(session, user_id)
    if user.kind == "service" or not user.password_hash:
        raise Conflict("service accounts have no password; they use tokens", {"field": "user"})
    if not verify_password(user.password_hash, current):
        raise Forbidden("the current password is wrong", {"field": "current_password"})
    if new == current:
        raise Invalid("choose a password different from the current one", {"field": "new_password"})
    if new.strip().lower() == user.username.lower():
        raise Invalid("the password may not be the username", {"field": "new_password"})
    try:
        check_password_strength(new, (user.username, user.display_name))
    except Invalid as exc:
        raise Invalid(exc.message, {**(exc.detail or {}), "field": "new_password"}) from exc
    forced = user.must_change_password
    user.password_hash, user.must_change_password = hash_password(new), False
    ended = end_sessions(session, rt, user.id, keep=keep_session)
    events.record(
        session,
        "password.changed",
        actor=actor,
        subject_type="user",
        subject_id=user.username,
        at=rt.now(),
        payload={"forced": forced, "sessions_ended": ended},
    )
    return user


def enrol_totp(
    session: Session, rt: Runtime, user_id: int | None, password: str, actor: str
) -> tuple[str, str]:
    """Start TOTP enrolment, after the password is entered again: returns (secret, otpauth URI), shown once.

    The password is asked because whoever holds a stolen session cookie could otherwise bind the
    account to their own authenticator. A confirm with a first code turns TOTP on.
    """
    user = _user(session, user_id)
    if user.kind == "service" or not user.password_hash:
        raise Conflict("service accounts do not log in; they use tokens", {"field": "user"})
    if not verify_password(user.password_hash, password):
        raise Forbidden("the password is wrong", {"field": "password"})
    if totp_enabled(user):
        raise Conflict("TOTP is already enabled for this account", {"field": "totp"})
    secret = pyotp.random_base32()
    user.totp_secret = TOTP_PENDING + secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)
    events.record(
        session,
        "totp.enrolment_started",
        actor=actor,
        subject_type="user",
        subject_id=user.username,
        at=rt.now(),
    )
    return secret, uri


def confirm_totp(session: Session, rt: Runtime, user_id: int | None, code: str, actor: str) -> None:
    """Finish TOTP enrolment with a first valid code; from then on every login needs one."""
    user = _user(session, user_id)
    if totp_enabled(user):
        raise Conflict("TOTP is already enabled for this account", {"field": "code"})
    if not user.totp_secret:
        raise Conflict("no TOTP enrolment is pending; start one at /v1/auth/totp/enrol", {"field": "code"})
    secret = str(user.totp_secret)[len(TOTP_PENDING) :]
    if not use_totp(session, rt, user, secret, code):  # the confirming code cannot log in afterwards
        raise Invalid("wrong, expired or already used TOTP code", {"field": "code"})
    user.totp_secret = secret
    events.record(
        session, "totp.enabled", actor=actor, subject_type="user", subject_id=user.username, at=rt.now()
    )
