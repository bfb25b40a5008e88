"""Platform health and prevalence over HTTP, and their pages: the health trends (charts drawn on the
server) and the prevalence labelling queue in the workbench."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from townsquare.access.permissions import Principal, require, require_form
from townsquare.access.roles import CASE_DECIDE, QUEUE_VIEW, TRANSPARENCY_EXPORT, TRANSPARENCY_READ
from townsquare.content.api import ERRORS, RT
from townsquare.content.models import Post
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.taxonomy import AREA_IDS, area_title
from townsquare.transparency import health, prevalence
from townsquare.transparency.charts import series
from townsquare.transparency.html import ENV
from townsquare.web.render import csrf_token

router = APIRouter(tags=["transparency"])
From = Annotated[str | None, Query(alias="from", description="First day (YYYY-MM-DD)")]
To = Annotated[str | None, Query(alias="to", description="Last day (YYYY-MM-DD), included")]


class SampleRequest(BaseModel):
    """Draw one day's prevalence sample."""

    model_config = ConfigDict(extra="forbid")
    day: date
    draws: int | None = Field(default=None, ge=1, le=20_000)


class LabelRequest(BaseModel):
    """A label for a sampled post: the policy it violates, or 'none'."""

    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=64)


@router.get("/v1/reports/health", responses=ERRORS, summary="Platform-health trends over a range")
def health_api(
    rt: RT,
    _: Annotated[Principal, Depends(require(TRANSPARENCY_READ))],
    period_from: From = None,
    period_to: To = None,
) -> dict[str, Any]:
    first, last = health.parse_range(period_from, period_to, rt.now().date())
    with transaction(rt.sessions) as session:
        return health.trends(session, first, last)


@router.get("/v1/prevalence", responses=ERRORS, summary="Views of violating content per 10,000 views")
def prevalence_api(
    rt: RT,
    _: Annotated[Principal, Depends(require(TRANSPARENCY_READ))],
    period_from: From = None,
    period_to: To = None,
) -> dict[str, Any]:
    first, last = health.parse_range(period_from, period_to, rt.now().date())
    with transaction(rt.sessions) as session:
        return prevalence.estimates(session, first, last)


@router.post("/v1/prevalence/samples", status_code=201, responses=ERRORS, summary="Draw a day's sample")
def draw_sample(
    data: SampleRequest, rt: RT, who: Annotated[Principal, Depends(require(TRANSPARENCY_EXPORT))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        n = prevalence.draw(
            session, rt, data.day, data.draws or rt.settings.prevalence_daily_samples, who.actor
        )
    return {"day": data.day.isoformat(), "draws": n}


@router.get("/v1/prevalence/queue", responses=ERRORS, summary="Sampled posts awaiting a label")
def label_queue(rt: RT, _: Annotated[Principal, Depends(require(QUEUE_VIEW))]) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return [
            {"sample": s.id, "day": s.day.isoformat(), "post": session.get(Post, s.post_id).platform_id}  # type: ignore[union-attr]
            for s in prevalence.queue(session)
        ]


@router.post("/v1/prevalence/samples/{sample_id}/label", responses=ERRORS, summary="Label a sampled post")
def label_api(
    sample_id: int, data: LabelRequest, rt: RT, who: Annotated[Principal, Depends(require(CASE_DECIDE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        n = prevalence.label(session, rt, sample_id, data.label, who.user_id, who.actor)
    return {"sample": sample_id, "label": data.label, "draws_labelled": n}


@router.get("/transparency/health", response_class=HTMLResponse, include_in_schema=False)
def health_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(TRANSPARENCY_READ))],
    period_from: From = None,
    period_to: To = None,
) -> HTMLResponse:
    """Trends with line charts; a bad range shows the form again with the error (400/422)."""
    ctx: dict[str, Any] = {"principal": who, "error": None, "charts": [], "data": None,
                           "from": period_from or "", "to": period_to or ""}  # fmt: skip
    status = 200
    with transaction(rt.sessions) as session:
        ctx["csrf_token"] = csrf_token(session, who)
        try:
            first, last = health.parse_range(period_from, period_to, rt.now().date())
            data = health.trends(session, first, last)
        except TownsquareError as exc:
            ctx["error"], status = exc.message, exc.status
        else:
            days = data["days"]
            ctx["data"], ctx["from"], ctx["to"] = data, data["from"], data["to"]
            ctx["charts"] = [
                series("Automated share of measures", [(d["day"], d["automated_share"]) for d in days]),
                series("Appeal reversal rate", [(d["day"], d["appeal_reversal_rate"]) for d in days]),
                series("Review backlog at the end of the day", [(d["day"], d["backlog"]) for d in days]),
                series("Median hours from report to decision",
                       [(d["day"], d["median_hours_to_decision"]) for d in days]),
                series("Reports received", [(d["day"], sum(d["reports"].values())) for d in days]),
                series("Share of sampled violating views on posts since actioned",
                       [(d["day"], d["violating_views_prevented_share"]) for d in days]),
            ]  # fmt: skip
    html = ENV.get_template("transparency_health.html").render(request=request, area_title=area_title, **ctx)
    return HTMLResponse(html, status_code=status)


@router.get("/review/prevalence", response_class=HTMLResponse, include_in_schema=False)
def prevalence_page(
    request: Request, rt: RT, who: Annotated[Principal, Depends(require(QUEUE_VIEW))]
) -> HTMLResponse:
    """The labelling queue: each sampled post's text, and a form to label it."""
    with transaction(rt.sessions) as session:
        items = [
            {
                "sample": s.id,
                "day": s.day.isoformat(),
                "text": p.text if p else "",
                "post": p.platform_id if p else "",
            }
            for s in prevalence.queue(session)
            for p in [session.get(Post, s.post_id)]
        ]
        token = csrf_token(session, who)
    html = ENV.get_template("review_prevalence.html").render(
        principal=who, csrf_token=token, items=items, policies=[(a, area_title(a)) for a in AREA_IDS],
        can_label=who.has(CASE_DECIDE), error=request.query_params.get("error", ""),
    )  # fmt: skip
    return HTMLResponse(html)


@router.post("/review/prevalence/{sample_id}", include_in_schema=False)
def label_form(
    sample_id: int,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(CASE_DECIDE))],
    label: Annotated[str, Form()] = "",
) -> Response:
    """Label from the page, then back to the queue (an error is shown there)."""
    try:
        with transaction(rt.sessions) as session:
            prevalence.label(session, rt, sample_id, label, who.user_id, who.actor)
    except TownsquareError as exc:
        return RedirectResponse(f"/review/prevalence?error={exc.message[:120]}", status_code=303)
    return RedirectResponse("/review/prevalence", status_code=303)
