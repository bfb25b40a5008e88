"""The login, logout and password-change pages (server-rendered forms, no script).

The login form has no session yet, so it is protected by a double-submit cookie: GET /login sets a
random `ts_login_csrf` cookie and puts the same value in a hidden field, and POST /login accepts only
when the two match (a cross-site page can neither read the cookie nor, with SameSite=Strict, send it).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townsquare.access import login, login_guard, ratelimit
from townsquare.access.api_auth import clear_session_cookie, set_session_cookie
from townsquare.access.models import StaffUser
from townsquare.access.permissions import Principal, public, signed_in, signed_in_form
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import Invalid, TooManyRequests, TownsquareError
from townsquare.runtime import Runtime
from townsquare.web.render import csrf_token, page

router = APIRouter(include_in_schema=False)

LOGIN_CSRF_COOKIE = "ts_login_csrf"
FormField = Annotated[str, Form(max_length=1024)]


def safe_next(target: str) -> str:
    """Where to go after login: a path on this site only (never another host), else the home page."""
    ok = target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target
    return target if ok and len(target) <= 2000 else "/"


def _login_page(
    request: Request, rt: Runtime, *, error: str = "", username: str = "", status: int = 200, next: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    target = safe_next(next or request.query_params.get("next", ""))
    resp = page(
        request, "login.html", status, login_csrf=token, error=error, username=username,
        next=target if target != "/" else "",
    )  # fmt: skip
    resp.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        secure=rt.settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, rt: RT, _: Annotated[None, Depends(public)]) -> HTMLResponse:
    return _login_page(request, rt)


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    rt: RT,
    _: Annotated[None, Depends(public)],
    username: Annotated[str, Form(max_length=64)] = "",
    password: FormField = "",
    totp: Annotated[str, Form(max_length=16)] = "",
    csrf_token: FormField = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    if not _same(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        # 400, not 403: the form is stale or forged; nothing about the caller's rights is decided here.
        return _login_page(request, rt, error="The form expired; please try again.", status=400, next=next)
    if not username or not password:
        return _login_page(
            request, rt, error="Enter your username and password.", username=username, status=422, next=next
        )
    try:
        result = login_guard.log_in(request, rt, username, password, totp or None)
    except TooManyRequests as exc:
        resp = _login_page(request, rt, error=exc.message, username=username, status=429, next=next)
        resp.headers.update(exc.headers or {})
        return resp
    if result.error is not None or result.user is None:
        error = result.error or Invalid("login failed")
        return _login_page(
            request, rt, error=error.message, username=username, status=error.status, next=next
        )
    target = "/password" if result.user.must_change_password else safe_next(next)
    redirect = RedirectResponse(target, status_code=303)
    set_session_cookie(redirect, rt, result.cookie, result.max_age)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login", secure=rt.settings.cookie_secure, httponly=True)
    return redirect


@router.post("/logout")
def logout_submit(
    rt: RT, who: Annotated[Principal, Depends(signed_in_form(password_change=True))]
) -> RedirectResponse:
    if who.session_id is not None:
        with transaction(rt.sessions) as session:
            login.logout(session, rt, who.session_id, who.actor)
    redirect = RedirectResponse("/login", status_code=303)
    clear_session_cookie(redirect, rt)
    return redirect


def _csrf_of(rt: Runtime, who: Principal) -> str:
    with transaction(rt.sessions) as session:
        return csrf_token(session, who)


def _password_page(
    request: Request, rt: Runtime, who: Principal, *, error: str = "", status: int = 200
) -> HTMLResponse:
    forced = bool(getattr(request.state, "must_change_password", False))
    return page(
        request,
        "password.html",
        status,
        principal=who,
        csrf_token=_csrf_of(rt, who),
        forced=forced,
        error=error,
    )


@router.get("/password", response_class=HTMLResponse)
def password_form(
    request: Request, rt: RT, who: Annotated[Principal, Depends(signed_in(password_change=True))]
) -> HTMLResponse:
    return _password_page(request, rt, who)


@router.post("/password", response_class=HTMLResponse)
def password_submit(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(signed_in_form(password_change=True))],
    current_password: FormField = "",
    new_password: FormField = "",
    confirm_password: FormField = "",
) -> Response:
    try:
        ratelimit.check(request, f"password:{who.username}")
        if not current_password or not new_password:
            raise Invalid("fill in the current and the new password", {"field": "new_password"})
        if new_password != confirm_password:
            raise Invalid("the new password and its confirmation differ", {"field": "confirm_password"})
        with transaction(rt.sessions) as session:
            login.change_password(
                session,
                rt,
                who.user_id,
                current_password,
                new_password,
                actor=who.actor,
                keep_session=who.session_id,
            )
    except TownsquareError as exc:
        resp = _password_page(request, rt, who, error=exc.message, status=exc.status)
        resp.headers.update(exc.headers or {})
        return resp
    return RedirectResponse("/", status_code=303)


def _totp_state(rt: Runtime, who: Principal) -> str:
    with transaction(rt.sessions) as session:
        user = session.get(StaffUser, who.user_id) if who.user_id is not None else None
        if user is None or not user.totp_secret:
            return "off"
        return "on" if login.totp_enabled(user) else "pending"


def _totp_page(
    request: Request, rt: Runtime, who: Principal, *, status: int = 200, error: str = "", **shown: str
) -> HTMLResponse:
    state = "pending" if shown.get("secret") else _totp_state(rt, who)
    return page(
        request, "totp.html", status, principal=who, csrf_token=_csrf_of(rt, who), state=state, error=error,
        **shown,
    )  # fmt: skip


@router.get("/totp", response_class=HTMLResponse)
def totp_form(request: Request, rt: RT, who: Annotated[Principal, Depends(signed_in())]) -> HTMLResponse:
    return _totp_page(request, rt, who)


@router.post("/totp", response_class=HTMLResponse)
def totp_enrol_submit(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(signed_in_form())],
    password: FormField = "",
) -> Response:
    """Start enrolment: the password again, then the key is shown once with the confirm form."""
    try:
        ratelimit.check(request, f"password:{who.username}")
        with transaction(rt.sessions) as session:
            secret, uri = login.enrol_totp(session, rt, who.user_id, password, who.actor)
    except TownsquareError as exc:
        resp = _totp_page(request, rt, who, status=exc.status, error=exc.message)
        resp.headers.update(exc.headers or {})
        return resp
    return _totp_page(request, rt, who, secret=secret, uri=uri)


@router.post("/totp/confirm", response_class=HTMLResponse)
def totp_confirm_submit(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(signed_in_form())],
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Finish enrolment with the app's first code."""
    try:
        with transaction(rt.sessions) as session:
            login.confirm_totp(session, rt, who.user_id, code, who.actor)
    except TownsquareError as exc:
        return _totp_page(request, rt, who, status=exc.status, error=exc.message)
    return RedirectResponse("/totp", status_code=303)
