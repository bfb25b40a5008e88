"""Workbench pages: the elections and the election mode's history, and the war room (with the one-step
path from an emerging claim to the claims library)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import CLAIMS_EDIT, ELECTIONS_READ
from townsquare.api_types import MAX_ROW_ID
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.elections import claims_library, mode, service, warroom
from townsquare.elections import repository as repo
from townsquare.errors import TownsquareError
from townsquare.runtime import Runtime
from townsquare.web.render import csrf_token, error_field, page

router = APIRouter(include_in_schema=False)
Reader = Annotated[Principal, Depends(require(ELECTIONS_READ))]
TOPICS = ("election_results", "election_procedures")


@router.get("/elections", response_class=HTMLResponse)
def elections_page(request: Request, rt: RT, who: Reader) -> HTMLResponse:
    """Every election with its window and sources, and every switch into and out of election mode."""
    with transaction(rt.sessions) as session:
        st = mode.refresh(session, rt)
        now = rt.now()
        ctx: dict[str, Any] = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "mode_on": bool(st.active(now)),
            "active": [e.name for e in st.active(now)],
            "elections": [service.view(e, now) for e in repo.elections(session)],
            "switches": warroom.switches(session, 100),
        }
    return page(request, "elections.html", **ctx)


def _warroom(request: Request, rt: Runtime, who: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        ctx = {
            "principal": who,
            "csrf_token": csrf_token(session, who),
            "room": warroom.snapshot(session, rt),
            "can_add_claim": who.has(CLAIMS_EDIT),
            "topics": TOPICS,
            **extra,
        }
    return page(request, "warroom.html", status_code=status, **ctx)


@router.get("/warroom", response_class=HTMLResponse)
def warroom_page(request: Request, rt: RT, who: Reader, proposed: int = 0) -> HTMLResponse:
    """The war room."""
    return _warroom(request, rt, who, proposed=proposed)


@router.post("/warroom/claims", response_class=HTMLResponse)
def add_claim(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(CLAIMS_EDIT))],
    text: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "",
    topic: Annotated[str, Form()] = "election_results",
    verdict: Annotated[str, Form()] = "false",
    reason: Annotated[str, Form()] = "",
    cluster: Annotated[str, Form()] = "",
    post_ids: Annotated[str, Form()] = "",
) -> Response:
    """Propose the emerging claim for the library; a second fact-checker publishes it."""
    try:
        data = claims_library.ClaimProposal(
            text=text,
            source=source,
            topic=topic,
            verdict=verdict,
            reason=reason or "emerging claim in the war room",
            cluster=cluster or None,
            post_ids=[
                n
                for p in post_ids.split(",")[:200]
                if p.strip().isascii() and p.strip().isdigit() and 0 < (n := int(p)) <= MAX_ROW_ID
            ],
        )
        with transaction(rt.sessions) as session:
            _, approval = claims_library.propose(session, rt, who, data)
            approval_id = approval.id
    except (ValidationError, TownsquareError) as exc:
        message = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc.message
        status = 422 if isinstance(exc, ValidationError) else exc.status
        return _warroom(
            request,
            rt,
            who,
            status,
            error=str(message).removeprefix("Value error, "),
            error_field=error_field(exc),
            error_cluster=cluster,
            form={"text": text, "source": source},
        )
    return RedirectResponse(f"/warroom?proposed={approval_id}", status_code=303)
