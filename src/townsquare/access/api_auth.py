"""Login, logout, password change, TOTP enrolment, who-am-I, and one's own API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access import login, login_guard, ratelimit, staff
from townsquare.access.models import StaffUser
from townsquare.access.permissions import SESSION_COOKIE, Principal, public, signed_in
from townsquare.api_types import RowId
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.errors import Conflict
from townsquare.eventlog.events import iso
from townsquare.runtime import Runtime

router = APIRouter(prefix="/v1/auth", tags=["auth"])

AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    429: {"description": "Too many attempts from this client; see the Retry-After header"},
}
Me = Annotated[Principal, Depends(signed_in())]
PasswordChanger = Annotated[Principal, Depends(signed_in(password_change=True))]


class LoginIn(BaseModel):
    """Credentials for a UI session."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, max_length=16, description="The 6-digit code, once TOTP is on.")


class LoginOut(BaseModel):
    """A new session: the cookie is set; unsafe requests must echo `csrf_token` as X-CSRF-Token."""

    csrf_token: str
    username: str
    roles: list[str]
    must_change_password: bool


class PasswordIn(BaseModel):
    """Change one's own password."""

    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordAgain(BaseModel):
    """One's password, entered again before a change to how one logs in."""

    model_config = ConfigDict(extra="forbid")

    password: str = Field(min_length=1, max_length=1024)


class TotpCode(BaseModel):
    """A code from the authenticator app."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=16)


class TokenCreate(BaseModel):
    """A new API token for oneself; scopes default to every permission one holds."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    scopes: list[str] | None = Field(default=None, max_length=100)
    days: int | None = Field(default=None, ge=1, le=366)


def set_session_cookie(response: Response, rt: Runtime, value: str, max_age: int) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure unless configured off, whole site."""
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        secure=rt.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, rt: Runtime) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=rt.settings.cookie_secure, httponly=True, samesite="strict"
    )


@router.post(
    "/login", response_model=LoginOut, responses=AUTH_ERRORS, summary="Log in (sets the session cookie)"
)
def login_route(
    data: LoginIn, request: Request, response: Response, rt: RT, _: Annotated[None, Depends(public)]
) -> LoginOut:
    result = login_guard.log_in(request, rt, data.username, data.password, data.totp)
    if result.error is not None or result.user is None:  # the failure count is committed by now
        raise result.error or Conflict("login failed")
    set_session_cookie(response, rt, result.cookie, result.max_age)
    return LoginOut(
        csrf_token=result.csrf_token,
        username=result.user.username,
        roles=sorted(result.roles),
        must_change_password=result.user.must_change_password,
    )


@router.post("/logout", responses=AUTH_ERRORS, summary="End this UI session")
def logout_route(response: Response, rt: RT, who: PasswordChanger) -> dict[str, Any]:
    if who.session_id is None:
        raise Conflict(
            "logout ends a UI session; revoke a token with DELETE /v1/auth/tokens/{id}", {"field": "session"}
        )
    with transaction(rt.sessions) as session:
        login.logout(session, rt, who.session_id, who.actor)
    clear_session_cookie(response, rt)
    return {"logged_out": True}


@router.post("/password", responses=AUTH_ERRORS, summary="Change one's own password")
def password_route(data: PasswordIn, request: Request, rt: RT, who: PasswordChanger) -> dict[str, Any]:
    ratelimit.check(request, f"password:{who.username}")
    with transaction(rt.sessions) as session:
        login.change_password(
            session,
            rt,
            who.user_id,
            data.current_password,
            data.new_password,
            actor=who.actor,
            keep_session=who.session_id,
        )
    return {"changed": True, "must_change_password": False}


@router.post(
    "/totp/enrol",
    responses=AUTH_ERRORS,
    summary="Start TOTP enrolment (needs the password; secret shown once)",
)
def totp_enrol(data: PasswordAgain, request: Request, rt: RT, who: Me) -> dict[str, str]:
    ratelimit.check(request, f"password:{who.username}")
    with transaction(rt.sessions) as session:
        secret, uri = login.enrol_totp(session, rt, who.user_id, data.password, who.actor)
    return {"secret": secret, "otpauth_uri": uri}


@router.post("/totp/confirm", responses=AUTH_ERRORS, summary="Confirm TOTP with a first code; then required")
def totp_confirm(data: TotpCode, rt: RT, who: Me) -> dict[str, bool]:
    with transaction(rt.sessions) as session:
        login.confirm_totp(session, rt, who.user_id, data.code, who.actor)
    return {"totp_enabled": True}


@router.get("/me", responses=AUTH_ERRORS, summary="Who is calling, with roles and permissions")
def me(rt: RT, who: Me) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        user = session.get(StaffUser, who.user_id) if who.user_id is not None else None
        row = staff.user_row(session, user, rt.now()) if user is not None else {}
    return {
        **row,
        "actor": who.actor,
        "roles": sorted(who.roles),
        "permissions": sorted(who.permissions),
        "via": who.via,
        "frozen": who.frozen,
        "read_only": who.read_only,
    }


@router.post("/tokens", status_code=201, responses=AUTH_ERRORS, summary="A new API token (shown once)")
def create_token(data: TokenCreate, request: Request, rt: RT, who: Me) -> dict[str, Any]:
    ratelimit.check(request, f"tokens:{who.username}")
    with transaction(rt.sessions) as session:
        plain, token = staff.issue_token(session, rt, who, name=data.name, scopes=data.scopes, days=data.days)
        row = staff.token_row(token, rt.now())
    return {**row, "token": plain, "expires_at": iso(token.expires_at)}


@router.get("/tokens", responses=AUTH_ERRORS, summary="One's own tokens (never the secret)")
def list_tokens(rt: RT, who: Me) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return staff.own_tokens(session, rt, who.user_id)


@router.delete(
    "/tokens/{token_id}", responses=AUTH_ERRORS, summary="Revoke a token (own, or any with users:manage)"
)
def revoke_token(token_id: RowId, request: Request, rt: RT, who: Me) -> dict[str, Any]:
    ratelimit.check(request, f"tokens:{who.username}")
    with transaction(rt.sessions) as session:
        return staff.revoke_token_by_id(session, rt, who, token_id)
