"""A queue as a worklist: filters, sorting, real pagination with totals, and "take next" that explains.

Filters: policy, language, state, a minimum report count, protected subjects (only / hide), and age
(opened at least or at most so many hours ago). Sorting: priority (highest first), age (oldest first)
or views (most viewed first). Every page reports the total that matches, so nothing is silently cut.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from townsquare.access.models import AccountTag
from townsquare.access.protect import check_actor_may_act
from townsquare.access.service import Principal
from townsquare.content.models import Account, Post
from townsquare.errors import Forbidden
from townsquare.review import service
from townsquare.review.models import OPEN_STATES, Case
from townsquare.review.views import case_row, holders
from townsquare.runtime import Runtime

SORTS = ("priority", "age", "views")
PAGE_SIZES = (25, 50, 100)
SCAN_BATCH = 200


class QueueFilter(BaseModel):
    """What a queue page shows (every field optional; an empty filter shows every open case)."""

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(default="", max_length=64)
    language: str = Field(default="", max_length=16)
    state: str = Field(default="", pattern="^(|open|assigned|escalated|reopened)$")
    min_reports: int | None = Field(default=None, ge=0, le=1_000_000)
    protected: str = Field(default="", pattern="^(|only|hide)$")
    min_age_hours: float | None = Field(default=None, ge=0, le=100_000)
    max_age_hours: float | None = Field(default=None, ge=0, le=100_000)
    dup_group: str = Field(default="", max_length=32)
    sort: str = Field(default="priority", pattern="^(priority|age|views)$")
    page: int = Field(default=1, ge=1, le=100_000)
    per_page: int = Field(default=50, ge=1, le=100)

    def query_string(self, **change: Any) -> str:
        """This filter as a query string, with some fields changed (for sort links and the pager)."""
        from urllib.parse import urlencode

        values = {**self.model_dump(), **change}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _protected() -> ColumnElement[bool]:
    tagged = exists().where(AccountTag.account_id == Case.account_id)
    return or_(Account.protected.is_(True), tagged)


def _filtered(rt: Runtime, queue: str, f: QueueFilter) -> Select[Any]:
    """The queue's cases under the filter; accounts and posts are joined only when a filter or the
    sort needs them, so the plain list reads the cases' own index."""
    q = select(Case).where(Case.queue == queue, Case.state.in_((f.state,) if f.state else OPEN_STATES))
    if f.protected:
        q = q.join(Account, Account.id == Case.account_id)
    if f.language or f.sort == "views":
        q = q.outerjoin(Post, Post.id == Case.post_id)
    if f.policy:
        q = q.where(Case.policy == f.policy)
    if f.language:
        q = q.where(Post.language == f.language)
    if f.min_reports is not None:
        q = q.where(Case.report_count >= f.min_reports)
    if f.protected == "only":
        q = q.where(_protected())
    elif f.protected == "hide":
        q = q.where(~_protected())
    now = rt.now()
    if f.min_age_hours is not None:
        q = q.where(Case.opened_at <= now - timedelta(hours=f.min_age_hours))
    if f.max_age_hours is not None:
        q = q.where(Case.opened_at >= now - timedelta(hours=f.max_age_hours))
    if f.dup_group:
        q = q.where(Case.dup_group == f.dup_group)
    return q


def _ordered(q: Select[Any], sort: str) -> Select[Any]:
    if sort == "age":
        return q.order_by(Case.opened_at, Case.id)
    if sort == "views":
        return q.order_by(func.coalesce(Post.views, 0).desc(), Case.priority.desc(), Case.id)
    return q.order_by(Case.priority.desc(), Case.id)


def page_of(session: Session, rt: Runtime, queue: str, f: QueueFilter) -> dict[str, Any]:
    """One page of a queue with the total that matches and the languages and policies present."""
    base = _filtered(rt, queue, f)
    total = int(session.scalar(base.with_only_columns(func.count(Case.id)).order_by(None)) or 0)
    pages = max(1, -(-total // f.per_page))
    page = min(f.page, pages)
    ids = list(
        session.scalars(
            _ordered(base, f.sort)
            .with_only_columns(Case.id)
            .offset((page - 1) * f.per_page)
            .limit(f.per_page)
        )
    )
    loaded = {
        c.id: c
        for c in session.scalars(
            select(Case).where(Case.id.in_(ids)).options(joinedload(Case.post), joinedload(Case.account))
        )
    }
    rows = [loaded[i] for i in ids]
    tagged = set(
        session.scalars(
            select(AccountTag.account_id).where(AccountTag.account_id.in_({c.account_id for c in rows}))
        )
    )
    now, names = rt.now(), holders(session)
    cases = []
    for c in rows:
        row = case_row(c, now, names)
        row.update(
            {
                "protected": c.account.protected or c.account_id in tagged,
                "author": c.account.handle,
                "author_id": c.account.platform_id,
                "language": c.post.language if c.post is not None else None,
                "views": c.post.views if c.post is not None else None,
            }
        )
        cases.append(row)
    languages = session.scalars(
        select(Post.language)
        .join(Case, Case.post_id == Post.id)
        .where(Case.queue == queue, Case.state.in_(OPEN_STATES), Post.language.is_not(None))
        .distinct()
    ).all()
    return {
        "cases": cases,
        "total": total,
        "page": page,
        "pages": pages,
        "first": (page - 1) * f.per_page + 1 if total else 0,
        "last": min(page * f.per_page, total),
        "languages": sorted(x for x in languages if x),
    }


def why_not(session: Session, rt: Runtime, who: Principal, case: Case) -> str | None:
    """Why the caller may not take this case now (None: they may)."""
    now = rt.now()
    if case.assigned_to not in (None, who.user_id) and case.lock_expires_at and case.lock_expires_at > now:
        holder = holders(session).get(case.assigned_to or 0, "someone")
        return f"being worked by {holder} until {case.lock_expires_at:%H:%M} UTC"
    if who.user_id in (case.excluded_reviewers or []):
        return "it re-checks your own decision"
    try:
        check_actor_may_act(session, who, case.account)
    except Forbidden as exc:
        return f"protected subject: {exc.message}"
    return None


def take_next(
    session: Session, rt: Runtime, who: Principal, queue: str, f: QueueFilter | None = None
) -> tuple[Case | None, list[dict[str, Any]]]:
    """Take the first case of the queue (in the page's order and filter) the caller may take, and say
    which cases above it were skipped and why. Scans the whole queue, in batches."""
    f = f or QueueFilter()
    q = _ordered(_filtered(rt, queue, f), f.sort)
    skipped: list[dict[str, Any]] = []
    offset = 0
    while True:
        batch = session.scalars(q.offset(offset).limit(SCAN_BATCH)).all()
        if not batch:
            return None, skipped
        for case in batch:
            why = why_not(session, rt, who, case)
            if why is None:
                return service.take(session, rt, who, case.id), skipped
            skipped.append({"case_id": case.id, "why": why})
        offset += SCAN_BATCH
