"""Workbench page: the dead-letter stream, each message with its error and a retry button."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import STREAM_MANAGE, STREAM_READ
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.runtime import Runtime
from townsquare.stream import dead, service
from townsquare.stream.api import retry
from townsquare.web.render import csrf_token, page

router = APIRouter(include_in_schema=False)


def _render(request: Request, rt: Runtime, who: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        token = csrf_token(session, who)
    ctx: dict[str, Any] = {
        "principal": who,
        "csrf_token": token,
        "configured": service.configured(rt.settings),
        "can_retry": who.has(STREAM_MANAGE),
        "items": [],
        "status": {},
        **extra,
    }
    if ctx["configured"]:
        try:
            ctx["status"] = service.status(rt)
            ctx["items"] = dead.entries(service.producer(rt.settings).client, rt.settings, 200)
        except Exception as exc:  # Redis down: the page says so instead of failing
            ctx["error"] = ctx.get("error") or f"Redis is unavailable ({type(exc).__name__})"
            status = 503
    return page(request, "stream_dead.html", status_code=status, **ctx)


@router.get("/stream/dead", response_class=HTMLResponse)
def dead_page(
    request: Request, rt: RT, who: Annotated[Principal, Depends(require(STREAM_READ))], retried: str = ""
) -> HTMLResponse:
    """The dead-letter stream."""
    return _render(request, rt, who, retried=retried[:200])


@router.post("/stream/dead/{dead_id}/retry", response_class=HTMLResponse)
def retry_page(
    request: Request, dead_id: str, rt: RT, who: Annotated[Principal, Depends(require_form(STREAM_MANAGE))]
) -> Response:
    """Put one dead-lettered message back on its stream."""
    try:
        out = retry(rt, dead_id, who.actor)
    except TownsquareError as exc:
        return _render(request, rt, who, status=exc.status, error=exc.message)
    return RedirectResponse(f"/stream/dead?retried={out['message']}", status_code=303)
