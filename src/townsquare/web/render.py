"""Server-rendered pages: one Jinja2 environment, templates that never use inline script (CSP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy.orm import Session

from townsquare.access.models import LoginSession
from townsquare.access.permissions import Principal
from townsquare.review.highlight import highlight
from townsquare.web import formats

WEB = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB / "templates"))
formats.install(templates.env)  # "3 min", "1.1M", short hashes
templates.env.filters["highlight"] = highlight  # evidence phrases marked in a post's text (case page)


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `principal` and `csrf_token` are passed by the caller when there is a session."""
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def csrf_token(session: Session, who: Principal) -> str:
    """The CSRF token of the caller's login session, for forms; empty for API tokens."""
    if who.session_id is None:
        return ""
    row = session.get(LoginSession, who.session_id)
    return row.csrf_token if row is not None else ""


def error_field(exc: Exception, default: str = "") -> str:
    """The form field an error concerns, so the page can show the message next to it."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        loc = errors[0].get("loc", ()) if errors else ()
        return str(loc[0]) if loc else default
    detail = getattr(exc, "detail", None)
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        detail = detail[0]
    return str(detail.get("field", default)) if isinstance(detail, dict) else default
