"""JSON API: elections, race calls, the election mode, info labels, the war room and the claims library."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import CLAIMS_EDIT, ELECTIONS_MANAGE, ELECTIONS_READ, POSTS_READ
from townsquare.content import repository as content_repo
from townsquare.content.api import ERRORS, RT
from townsquare.db import transaction
from townsquare.elections import claims_library, mode, service, warroom
from townsquare.elections import repository as repo
from townsquare.elections.schemas import ElectionSpec, ElectionUpdate, RaceCall
from townsquare.errors import NotFound

router = APIRouter(prefix="/v1", tags=["elections"])
Reader = Annotated[Principal, Depends(require(ELECTIONS_READ))]
Manager = Annotated[Principal, Depends(require(ELECTIONS_MANAGE))]


class ElectionCreate(ElectionSpec):
    """A new election, with why it is added (recorded in the event log)."""

    reason: str = Field(default="", max_length=2_000)


@router.get("/elections", responses=ERRORS, summary="Elections, their windows and the election mode")
def list_elections(rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        st = mode.refresh(session, rt)
        now = rt.now()
        return {
            "mode": {"on": bool(st.active(now)), "active": [e.slug for e in st.active(now)]},
            "elections": [service.view(e, now) for e in repo.elections(session)],
        }


@router.post("/elections", status_code=201, responses=ERRORS, summary="Add an election")
def create_election(data: ElectionCreate, rt: RT, who: Manager) -> dict[str, Any]:
    spec = ElectionSpec.model_validate(data.model_dump(exclude={"reason"}))
    with transaction(rt.sessions) as session:
        e = service.create(session, rt, spec, who.actor, data.reason)
        return service.view(e, rt.now())


@router.get("/elections/{slug}", responses=ERRORS, summary="One election with its races")
def get_election(slug: str, rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        e = repo.by_slug(session, slug)
        if e is None:
            raise NotFound(f"no election {slug}", {"field": "slug"})
        return service.view(e, rt.now())


@router.patch("/elections/{slug}", responses=ERRORS, summary="Change an election (checked whole)")
def update_election(slug: str, data: ElectionUpdate, rt: RT, who: Manager) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        e = service.update(session, rt, slug, data, who.actor)
        return service.view(e, rt.now())


@router.post("/elections/{slug}/races/{race}/call", responses=ERRORS, summary="Record the official race call")
def call_race(slug: str, race: str, data: RaceCall, rt: RT, who: Manager) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        r = service.call_race(session, rt, slug, race, data, who.actor)
        return service.race_view(r)


@router.get("/election-mode", responses=ERRORS, summary="Whether election mode is on, and its switches")
def election_mode(rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        st = mode.refresh(session, rt)
        now = rt.now()
        return {
            "on": bool(st.active(now)),
            "active": [e.slug for e in st.active(now)],
            "switches": warroom.switches(session, 100),
        }


@router.get(
    "/info-labels/{platform_id}", responses=ERRORS, summary="Authoritative-information labels on a post"
)
def info_labels(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(POSTS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        post = content_repo.post(session, platform_id)
        labels = repo.labels_of(session, post.id)
        return {
            "post": platform_id,
            "labels": [
                {
                    "label": "voting-information",
                    "url": s.label_url,
                    "jurisdiction": s.jurisdiction,
                    "post_version": s.post_version,
                }
                for s in labels
            ],
        }


@router.get("/warroom", responses=ERRORS, summary="The election war room")
def war_room(rt: RT, _: Reader, hours: Annotated[int, Query(ge=1, le=168)] = 24) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return warroom.snapshot(session, rt, hours)


@router.get("/claims", responses=ERRORS, summary="Claims added through Townsquare and the library version")
def list_claims(rt: RT, _: Reader) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return {
            "library_version": repo.library_version(session),
            "claims": [claims_library.entry_view(e) for e in repo.claim_entries(session)],
        }


@router.post(
    "/claims", status_code=202, responses=ERRORS, summary="Propose a claim (a second person publishes)"
)
def propose_claim(
    data: claims_library.ClaimProposal,
    rt: RT,
    response: Response,
    who: Annotated[Principal, Depends(require(CLAIMS_EDIT))],
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        entry, approval = claims_library.propose(session, rt, who, data)
        return {
            "claim": claims_library.entry_view(entry),
            "approval_id": approval.id,
            "status": "pending_approval",
        }
