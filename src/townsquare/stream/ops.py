"""Operations endpoints: readiness (database, and Redis in stream mode) and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

import redis
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from townsquare.access.permissions import Principal, public, require
from townsquare.access.roles import OPS_METRICS
from townsquare.content.api import RT
from townsquare.stream import service

router = APIRouter(tags=["health"])


@router.get(
    "/readyz",
    summary="Readiness: the database answers, and Redis too in stream mode",
    responses={503: {"description": "The database or Redis does not answer; `checks` says which"}},
)
def readyz(rt: RT, _: Annotated[None, Depends(public)]) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with rt.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the name says which
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if service.configured(rt.settings):
        try:
            service.producer(rt.settings).client.ping()
            checks["redis"] = "ok"
        except redis.RedisError as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = {"status": "ready" if ready else "unavailable", "mode": rt.settings.ingest_mode, "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics: stream backlog, throughput, errors, latency",
    response_class=PlainTextResponse,
    responses={
        401: {"description": "Missing or invalid bearer token"},
        403: {"description": "No ops:metrics"},
    },
)
def metrics(rt: RT, _: Annotated[Principal, Depends(require(OPS_METRICS))]) -> Response:
    if service.configured(rt.settings):
        service.status(rt)  # refreshes the backlog, dead-letter and worker gauges
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
