"""Ingest and read endpoints for accounts, posts, metrics and reports (thin: the services do the work)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy.orm import Session

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import (
    ACCOUNTS_ERASE,
    ACCOUNTS_READ,
    ACCOUNTS_WRITE,
    POSTS_READ,
    POSTS_WRITE,
    REPORTS_WRITE,
)
from townsquare.content import accounts, views
from townsquare.content.schemas import (
    AccountCreate,
    AccountUpdate,
    BatchResult,
    MetricsBatch,
    PostBatch,
    PostCreate,
    PostDelete,
    PostEdit,
    ReportCreate,
)
from townsquare.db import idempotent, transaction
from townsquare.errors import Invalid
from townsquare.pipeline import changes, ingest, reports
from townsquare.runtime import Runtime
from townsquare.stream import service as stream

router = APIRouter(prefix="/v1", tags=["ingest"])

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"},
    403: {"description": "The token lacks the permission"},
    404: {"description": "Unknown id"},
    409: {"description": "Conflicts with what is stored"},
    413: {"description": "Body larger than the configured limit"},
    422: {"description": "Invalid input; `detail` names each field"},
}


async def runtime(request: Request) -> Runtime:
    """The process runtime (async: FastAPI would run a plain function in the thread pool)."""
    rt: Runtime = request.app.state.runtime
    return rt


RT = Annotated[Runtime, Depends(runtime)]
_JSON_OBJECT = TypeAdapter(dict[str, Any])


def _json(content: dict[str, Any], status_code: int) -> Response:
    """The body serialised as FastAPI would for `dict[str, Any]`, but here in the request's worker
    thread: a returned dict costs a second thread-pool round trip for its validation (ingest hot path)."""
    return Response(_JSON_OBJECT.dump_json(content), status_code=status_code, media_type="application/json")


def _streamed(rt: Runtime) -> bool:
    """TOWNSQUARE_INGEST_MODE=stream: queue for the workers and answer 202 with a status URL."""
    return rt.settings.ingest_mode == "stream"


def _queue(
    rt: Runtime, response: Response, kind: str, body: dict[str, Any], who: Principal
) -> dict[str, Any]:
    [appended] = stream.enqueue_refusing(rt, [(kind, body)], who.actor)
    response.status_code = 202
    response.headers["Location"] = appended.status_url
    return stream.queued(appended, body.get("platform_id") or body.get("post"))


@router.post("/accounts", status_code=201, responses=ERRORS, summary="Create an account")
def create_account(
    data: AccountCreate,
    rt: RT,
    response: Response,
    who: Annotated[Principal, Depends(require(ACCOUNTS_WRITE))],
) -> dict[str, Any]:

    def work(session: Session) -> dict[str, Any]:
        account, created = accounts.create_account(session, rt, data, who.actor)
        return {
            "platform_id": account.platform_id,
            "created": created,
            "profile_version": account.profile_version,
        }

    out = idempotent(rt.sessions, work)
    if not out["created"]:
        response.status_code = 200
    return out


@router.patch("/accounts/{platform_id}", responses=ERRORS, summary="Update an account's profile")
def update_account(
    platform_id: str, data: AccountUpdate, rt: RT, who: Annotated[Principal, Depends(require(ACCOUNTS_WRITE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        account = accounts.update_account(session, rt, platform_id, data, who.actor)
        return {"platform_id": account.platform_id, "profile_version": account.profile_version}


class Erase(BaseModel):
    """Why an account's personal data is erased (recorded in the event log)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


@router.post(
    "/accounts/{platform_id}/erase",
    responses=ERRORS,
    summary="Erase an account's personal data (key deletion)",
)
def erase_account(
    platform_id: str, data: Erase, rt: RT, who: Annotated[Principal, Depends(require(ACCOUNTS_ERASE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        account = accounts.erase_account(session, rt, platform_id, who.actor, data.reason)
        return {"platform_id": account.platform_id, "erased": True}


@router.get("/accounts/{platform_id}", responses=ERRORS, summary="An account's standing, strikes and history")
def get_account(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(ACCOUNTS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.account_view(session, rt, platform_id)


@router.post(
    "/posts",
    status_code=201,
    responses=ERRORS,
    response_model=dict[str, Any],
    summary="Ingest one post and decide it",
)
def create_post(
    data: PostCreate, rt: RT, response: Response, who: Annotated[Principal, Depends(require(POSTS_WRITE))]
) -> dict[str, Any] | Response:
    if _streamed(rt):
        return _queue(rt, response, "post", data.model_dump(mode="json", exclude_none=True), who)

    # Decided in one transaction with the single posts that arrive meanwhile (group commit).
    result = ingest.ingest_post_together(rt, data, who.actor)
    out = {"platform_id": data.platform_id, "created": result.created, "decision": result.decision}
    return _json(out, 201 if result.created else 200)


@router.post(
    "/posts/batch",
    responses=ERRORS,
    response_model=BatchResult,
    summary="Ingest up to 1,000 posts; per-item results",
)
def create_posts_batch(
    data: PostBatch, rt: RT, who: Annotated[Principal, Depends(require(POSTS_WRITE))]
) -> BatchResult | JSONResponse:
    if len(data.posts) > rt.settings.max_batch:
        raise Invalid(f"at most {rt.settings.max_batch} posts per batch", {"field": "posts"})
    if _streamed(rt):
        return JSONResponse(stream.queue_batch(rt, data.posts, who.actor), status_code=202)
    return idempotent(rt.sessions, lambda session: ingest.ingest_batch(session, rt, data.posts, who.actor))


@router.post("/posts/metrics", responses=ERRORS, summary="Record view-count snapshots")
def post_metrics(
    data: MetricsBatch, rt: RT, response: Response, who: Annotated[Principal, Depends(require(POSTS_WRITE))]
) -> dict[str, Any]:
    if _streamed(rt):
        items = [("metrics", m.model_dump(mode="json")) for m in data.items]
        response.status_code = 202
        return {"queued": len(stream.enqueue_refusing(rt, items, who.actor))}
    with transaction(rt.sessions) as session:
        return changes.record_metrics(session, rt, data, who.actor)


@router.patch("/posts/{platform_id}", responses=ERRORS, summary="Edit a post (a new version, decided again)")
def edit_post(
    platform_id: str,
    data: PostEdit,
    rt: RT,
    response: Response,
    who: Annotated[Principal, Depends(require(POSTS_WRITE))],
) -> dict[str, Any]:
    if _streamed(rt):
        body = {"platform_id": platform_id, **data.model_dump(mode="json", exclude_none=True)}
        return _queue(rt, response, "edit", body, who)
    with transaction(rt.sessions) as session:
        post, decision = changes.edit_post(session, rt, platform_id, data, who.actor)
        return {"platform_id": platform_id, "version": post.version, "decision": decision}


@router.delete("/posts/{platform_id}", responses=ERRORS, summary="The platform deleted the post (tombstone)")
def delete_post(
    platform_id: str,
    rt: RT,
    response: Response,
    who: Annotated[Principal, Depends(require(POSTS_WRITE))],
    data: Annotated[PostDelete | None, Body()] = None,
) -> dict[str, Any]:
    if _streamed(rt):
        body = {
            "platform_id": platform_id,
            **(data or PostDelete()).model_dump(mode="json", exclude_none=True),
        }
        return _queue(rt, response, "delete", body, who)
    with transaction(rt.sessions) as session:
        post = changes.delete_post(session, rt, platform_id, data or PostDelete(), who.actor)
        return {"platform_id": platform_id, "status": post.status, "deleted_at": views._ts(post.deleted_at)}


@router.get(
    "/posts/{platform_id}", responses=ERRORS, summary="A post with versions, signals, verdicts, actions"
)
def get_post(
    platform_id: str, rt: RT, _: Annotated[Principal, Depends(require(POSTS_READ))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        return views.post_view(session, platform_id)


@router.post("/reports", status_code=201, responses=ERRORS, summary="A user's report of a post or account")
def create_report(
    data: ReportCreate, rt: RT, response: Response, who: Annotated[Principal, Depends(require(REPORTS_WRITE))]
) -> dict[str, Any]:
    if _streamed(rt):
        return _queue(rt, response, "report", data.model_dump(mode="json", exclude_none=True), who)
    out = idempotent(rt.sessions, lambda session: reports.create_report(session, rt, data, who.actor))
    if out.get("created") is False:
        response.status_code = 200
    return out
