"""Server-rendered pages: one Jinja2 environment, templates that never use inline script (CSP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

WEB = Path(__file__).parent
templates = Jinja2Templates(directory=str(WEB / "templates"))


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page; `principal` and `csrf_token` are passed by the caller when there is a session."""
    return templates.TemplateResponse(request, template, context, status_code=status_code)
