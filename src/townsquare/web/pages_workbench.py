"""More workbench pages: bulk decisions (preview with authors, then confirm), search with links to the
post and account pages, the account and post pages, and the reviewer's wellbeing settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import or_, select

from townsquare.access.models import Approval
from townsquare.access.permissions import Principal, require, require_form, signed_in, signed_in_form
from townsquare.access.roles import ACCOUNTS_READ, BULK_DECIDE, POSTS_READ
from townsquare.content.api import RT
from townsquare.content.models import Account, Post
from townsquare.content.views import post_view
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.pipeline.refresh import refresh_states
from townsquare.review import account_page, bulk, wellbeing
from townsquare.review.models import Case
from townsquare.web.pages_review import base_context
from townsquare.web.render import error_field, page

router = APIRouter(include_in_schema=False)
BULK_ACTIONS = ("label", "reduce_reach", "demonetise", "remove")


def _filter(dup_group: str, queue: str, policy: str, contains: str) -> bulk.CaseFilter:
    return bulk.CaseFilter(
        dup_group=dup_group or None, queue=queue or None, policy=policy or None, contains=contains or None
    )


def _bulk_page(
    request: Request,
    rt: Any,
    who: Principal,
    raw: dict[str, str],
    form: dict[str, str] | None = None,
    error: str = "",
    field: str = "",
    result: dict[str, Any] | None = None,
    confirm: bool = False,
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        ctx: dict[str, Any] = {
            **base_context(session, rt, who),
            "raw": raw,
            "preview": None,
            "error": error,
            "error_field": field,
            "result": result,
            "confirm": confirm,
            "bulk_actions": BULK_ACTIONS,
        }
        if any(raw.values()) and result is None:
            try:
                ctx["preview"] = bulk.preview(session, rt, who, _filter(**raw))
            except (ValidationError, TownsquareError) as exc:
                ctx["error"] = ctx["error"] or str(getattr(exc, "message", "check the filter"))
                ctx["error_field"] = ctx["error_field"] or "filter"
        group_policy = (ctx["preview"] or {}).get("policy") or raw.get("policy") or ""
        ctx["form"] = form or {
            "outcome": "violation",
            "policy": group_policy,
            "action": "remove",
            "reason": "",
        }
    status = 422 if ctx["error"] else 200
    return page(request, "review_bulk.html", status_code=status, **ctx)


@router.get("/review/bulk", response_class=HTMLResponse)
def bulk_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(BULK_DECIDE))],
    dup_group: str = "",
    queue: str = "",
    policy: str = "",
    contains: str = "",
) -> HTMLResponse:
    """A bulk decision: the filter, a preview of the cases and authors, the decision form (the policy
    defaults to the group's)."""
    raw = {"dup_group": dup_group, "queue": queue, "policy": policy, "contains": contains}
    return _bulk_page(request, rt, who, raw)


@router.post("/review/bulk", response_class=HTMLResponse)
def bulk_submit(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require_form(BULK_DECIDE))],
    dup_group: Annotated[str, Form()] = "",
    queue: Annotated[str, Form()] = "",
    policy_filter: Annotated[str, Form()] = "",
    contains: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    policy: Annotated[str, Form()] = "",
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    confirmed: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Check the decision, ask to confirm it (nothing is done yet), then apply it or open its approval."""
    raw = {"dup_group": dup_group, "queue": queue, "policy": policy_filter, "contains": contains}
    form = {"outcome": outcome, "policy": policy, "action": action, "reason": reason}
    try:
        data = bulk.BulkCaseDecision(
            filter=_filter(**raw),
            outcome=outcome,
            policy=policy or None,
            action=action or None,
            reason=reason,
        )
        bulk.check(rt, who, data)
    except ValidationError as exc:
        field = error_field(exc, "filter")
        return _bulk_page(request, rt, who, raw, form, f"check the {field}", field)
    except TownsquareError as exc:
        return _bulk_page(request, rt, who, raw, form, exc.message, error_field(exc))
    if confirmed != "yes":
        return _bulk_page(request, rt, who, raw, form, confirm=confirmed != "change")
    try:
        with transaction(rt.sessions) as session:
            refresh_states(session, rt)
            out = bulk.decide(session, rt, who, data)
            result = {"approval_id": out.id, "summary": out.summary} if isinstance(out, Approval) else out
    except TownsquareError as exc:
        return _bulk_page(request, rt, who, raw, form, exc.message, error_field(exc))
    return _bulk_page(request, rt, who, raw, form, result=result)


@router.get("/review/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(POSTS_READ))],
    q: str = "",
    kind: str = "posts",
) -> HTMLResponse:
    """Find posts by their text or platform id, and accounts by handle, name or platform id."""
    q = q.strip()[:200]
    with transaction(rt.sessions) as session:
        posts: list[Post] = []
        accounts: list[Account] = []
        if len(q) >= 2 and kind == "accounts":
            accounts = list(
                session.scalars(
                    select(Account)
                    .where(
                        or_(
                            Account.handle.contains(q, autoescape=True),
                            Account.display_name.contains(q, autoescape=True),
                            Account.platform_id == q,
                        )
                    )
                    .limit(50)
                )
            )
        elif len(q) >= 2:
            posts = list(
                session.scalars(
                    select(Post)
                    .where(or_(Post.text.contains(q, autoescape=True), Post.platform_id == q))
                    .order_by(Post.id.desc())
                    .limit(50)
                )
            )
        policies: dict[int, str | None] = {}
        if posts:
            for pid, pol in session.execute(
                select(Case.post_id, Case.policy)
                .where(Case.post_id.in_([p.id for p in posts]))
                .order_by(Case.id)
            ):
                policies[pid or 0] = pol or policies.get(pid or 0)
        ctx = {
            **base_context(session, rt, who),
            "q": q,
            "kind": kind,
            "posts": [
                {
                    "platform_id": p.platform_id,
                    "text": p.text,
                    "status": p.status,
                    "author": p.author.handle,
                    "author_id": p.author.platform_id,
                    "policy": policies.get(p.id),
                }
                for p in posts
            ],
            "accounts": [
                {
                    "platform_id": a.platform_id,
                    "handle": a.handle,
                    "display_name": a.display_name,
                    "standing": a.standing,
                    "followers": a.follower_count,
                }
                for a in accounts
            ],
        }
    return page(request, "review_search.html", **ctx)


@router.get("/review/accounts/{platform_id}", response_class=HTMLResponse)
def account_view_page(
    request: Request, platform_id: str, rt: RT, who: Annotated[Principal, Depends(require(ACCOUNTS_READ))]
) -> HTMLResponse:
    """An account: profile history, posts, actions, strikes, cases, ban-evasion links."""
    with transaction(rt.sessions) as session:
        ctx = {
            **base_context(session, rt, who),
            "account": account_page.account_page(session, rt, platform_id),
        }
    return page(request, "review_account.html", **ctx)


@router.get("/review/posts/{platform_id}", response_class=HTMLResponse)
def post_view_page(
    request: Request, platform_id: str, rt: RT, who: Annotated[Principal, Depends(require(POSTS_READ))]
) -> HTMLResponse:
    """A post: its text (blurred by its policy's harm level), versions, actions, cases, author."""
    with transaction(rt.sessions) as session:
        post = post_view(session, platform_id)
        post.update(account_page.post_page(session, platform_id))
        ctx = {**base_context(session, rt, who), "post": post}
    return page(request, "review_post.html", **ctx)


def _settings_page(
    request: Request,
    rt: Any,
    who: Principal,
    error: str = "",
    field: str = "",
    form: dict[str, Any] | None = None,
    saved: bool = False,
) -> HTMLResponse:
    with transaction(rt.sessions) as session:
        ctx = base_context(session, rt, who)
        mine = ctx["wellbeing"]
        ctx.update(
            {
                "form": form
                or {
                    "blur_from": mine.blur_from,
                    "grayscale": mine.grayscale,
                    "break_after": str(mine.break_after),
                },
                "choices": wellbeing.BLUR_CHOICES,
                "levels": sorted(ctx["harm"].items()),
                "error": error,
                "error_field": field,
                "saved": saved,
            }
        )
    return page(request, "review_settings.html", status_code=422 if error else 200, **ctx)


@router.get("/review/settings", response_class=HTMLResponse)
def settings_page(request: Request, rt: RT, who: Annotated[Principal, Depends(signed_in())]) -> HTMLResponse:
    """Wellbeing settings: what to blur, grayscale, when to suggest a break."""
    return _settings_page(request, rt, who, saved=request.query_params.get("saved") == "1")


@router.post("/review/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(signed_in_form())],
    blur_from: Annotated[str, Form()] = "",
    grayscale: Annotated[str, Form()] = "",
    break_after: Annotated[str, Form()] = "",
) -> Response:
    """Save the wellbeing settings."""
    form = {"blur_from": blur_from, "grayscale": grayscale == "on", "break_after": break_after}
    if who.user_id is None:
        return _settings_page(request, rt, who, "settings belong to a staff user", "blur_from", form)
    try:
        data = wellbeing.PrefsIn(
            blur_from=blur_from, grayscale=grayscale == "on", break_after=break_after or "x"
        )
    except ValidationError as exc:
        field = error_field(exc, "blur_from")
        return _settings_page(request, rt, who, f"check the {field.replace('_', ' ')}", field, form)
    with transaction(rt.sessions) as session:
        wellbeing.save(session, rt, who, data)
    return RedirectResponse("/review/settings?saved=1", status_code=303)
