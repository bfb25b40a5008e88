"""Records the report needs (authorities' orders, monthly recipients, moderators' languages) and the views
a platform shows its own users: an account's actions, a reporter's reports and their outcomes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select

from townsquare.access.models import StaffUser
from townsquare.access.permissions import Principal, require
from townsquare.access.roles import (
    ACTIONS_READ,
    ORDERS_WRITE,
    RECIPIENTS_WRITE,
    REPORTS_READ,
    TRANSPARENCY_READ,
    USERS_MANAGE,
)
from townsquare.appeals.links import appeal_url
from townsquare.content.api import ERRORS, RT
from townsquare.content.models import Account, Report
from townsquare.db import transaction
from townsquare.enforcement.dsa import DSA_ENUMS
from townsquare.enforcement.models import Action
from townsquare.enforcement.notice import APPEAL_MONTHS
from townsquare.enforcement.notice import _add_months as add_months
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.review.models import ReportOutcome
from townsquare.transparency.models import AuthorityOrder, ModeratorLanguage, RecipientCount
from townsquare.transparency.templates_dsa import MAP

router = APIRouter(prefix="/v1", tags=["transparency"])
Timestamp = datetime


class OrderCreate(BaseModel):
    """An order from a Member State authority, as received."""

    model_config = ConfigDict(extra="forbid")
    reference: str = Field(min_length=1, max_length=128, pattern=r"^[\w./:-]+$")
    order_type: Literal["act", "info"]
    member_state: str
    authority: str = Field(min_length=1, max_length=256)
    category: str
    keywords: list[str] = Field(default_factory=list, max_length=20)
    items: int = Field(default=1, ge=1, le=1_000_000)
    received_at: Timestamp
    acknowledged_at: Timestamp | None = None
    effected_at: Timestamp | None = None

    @field_validator("member_state")
    @classmethod
    def _state(cls, v: str) -> str:
        if v not in MAP["member_states"]:
            raise ValueError("must be an EU Member State code (e.g. DE, FR)")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v not in DSA_ENUMS["STATEMENT_CATEGORIES"] and v != "STATEMENT_CATEGORY_NOT_SPECIFIED_ORDER":
            raise ValueError("must be a STATEMENT_CATEGORY_* value")
        return v

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, v: list[str]) -> list[str]:
        if any(k not in DSA_ENUMS["KEYWORDS"] for k in v):
            raise ValueError("must be KEYWORD_* values")
        return v


class OrderUpdate(BaseModel):
    """When the authority was told of receipt, and when the order was given effect."""

    model_config = ConfigDict(extra="forbid")
    acknowledged_at: Timestamp | None = None
    effected_at: Timestamp | None = None


class RecipientsPost(BaseModel):
    """Average active recipients in one month, for the whole service (TOTAL) or one Member State."""

    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    scope: str = "TOTAL"
    recipients: int = Field(ge=0, le=10**11)


class Languages(BaseModel):
    """The languages a moderator reviews in (ISO 639-1)."""

    model_config = ConfigDict(extra="forbid")
    languages: list[Annotated[str, Field(pattern=r"^[a-z]{2}$")]] = Field(max_length=40)


def _utc(ts: datetime | None, now: datetime, field: str) -> datetime | None:
    if ts is None:
        return None
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    if ts > now + timedelta(minutes=5):
        raise Invalid(f"{field} is in the future", {"field": field})
    return ts


def _order_view(o: AuthorityOrder) -> dict[str, Any]:
    return {
        "reference": o.reference,
        "order_type": o.order_type,
        "member_state": o.member_state,
        "authority": o.authority,
        "category": o.category,
        "keywords": o.keywords,
        "items": o.items,
        "received_at": events.iso(o.received_at),
        "acknowledged_at": events.iso(o.acknowledged_at) if o.acknowledged_at else None,
        "effected_at": events.iso(o.effected_at) if o.effected_at else None,
    }


def _check_order_times(o: AuthorityOrder) -> None:
    for name in ("acknowledged_at", "effected_at"):
        value = getattr(o, name)
        if value is not None and value < o.received_at:
            raise Invalid(f"{name} is before received_at", {"field": name})


@router.post("/orders", status_code=201, responses=ERRORS, summary="Record an order from an authority")
def create_order(
    data: OrderCreate, rt: RT, who: Annotated[Principal, Depends(require(ORDERS_WRITE))]
) -> dict[str, Any]:
    now = rt.now()
    with transaction(rt.sessions) as session:
        if session.scalar(select(AuthorityOrder.id).where(AuthorityOrder.reference == data.reference)):
            raise Conflict(f"order {data.reference} is already recorded", {"field": "reference"})
        order = AuthorityOrder(
            **data.model_dump(exclude={"received_at", "acknowledged_at", "effected_at"}),
            received_at=_utc(data.received_at, now, "received_at"),
            acknowledged_at=_utc(data.acknowledged_at, now, "acknowledged_at"),
            effected_at=_utc(data.effected_at, now, "effected_at"),
            recorded_by=who.actor,
            recorded_at=now,
        )
        _check_order_times(order)
        session.add(order)
        events.record(
            session,
            "order.recorded",
            actor=who.actor,
            subject_type="order",
            subject_id=data.reference,
            at=now,
            payload={
                "order_type": data.order_type,
                "member_state": data.member_state,
                "category": data.category,
                "items": data.items,
            },
        )
        session.flush()
        return _order_view(order)


@router.patch("/orders/{reference}", responses=ERRORS, summary="Record acknowledgement or effect of an order")
def update_order(
    reference: str, data: OrderUpdate, rt: RT, who: Annotated[Principal, Depends(require(ORDERS_WRITE))]
) -> dict[str, Any]:
    now = rt.now()
    with transaction(rt.sessions) as session:
        order = session.scalar(select(AuthorityOrder).where(AuthorityOrder.reference == reference))
        if order is None:
            raise NotFound(f"no order {reference}", {"field": "reference"})
        for name in ("acknowledged_at", "effected_at"):
            value = _utc(getattr(data, name), now, name)
            if value is not None:
                if getattr(order, name) is not None:
                    raise Conflict(f"{name} is already recorded", {"field": name})
                setattr(order, name, value)
        _check_order_times(order)
        events.record(
            session,
            "order.updated",
            actor=who.actor,
            subject_type="order",
            subject_id=reference,
            at=now,
            payload=data.model_dump(mode="json", exclude_none=True),
        )
        return _order_view(order)


@router.get("/orders", responses=ERRORS, summary="Orders received in a period")
def list_orders(
    rt: RT,
    _: Annotated[Principal, Depends(require(TRANSPARENCY_READ))],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        rows = session.scalars(
            select(AuthorityOrder).order_by(AuthorityOrder.received_at.desc()).limit(limit)
        )
        return [_order_view(o) for o in rows]


@router.post("/recipients", status_code=201, responses=ERRORS, summary="Post a month's active recipients")
def post_recipients(
    data: RecipientsPost, rt: RT, who: Annotated[Principal, Depends(require(RECIPIENTS_WRITE))]
) -> dict[str, Any]:
    try:
        month = date.fromisoformat(f"{data.month}-01")
    except ValueError:
        raise Invalid("month is not a month (YYYY-MM)", {"field": "month"}) from None
    if month > rt.now().date():
        raise Invalid("month is in the future", {"field": "month"})
    if data.scope != "TOTAL" and data.scope not in MAP["member_states"]:
        raise Invalid("scope must be TOTAL or an EU Member State code", {"field": "scope"})
    with transaction(rt.sessions) as session:
        row = session.scalar(
            select(RecipientCount).where(RecipientCount.month == month, RecipientCount.scope == data.scope)
        )
        if row is None:
            row = RecipientCount(
                month=month,
                scope=data.scope,
                recipients=data.recipients,
                posted_by=who.actor,
                posted_at=rt.now(),
            )
            session.add(row)
        else:
            row.recipients, row.posted_by, row.posted_at = data.recipients, who.actor, rt.now()
        events.record(
            session,
            "recipients.posted",
            actor=who.actor,
            subject_type="recipients",
            subject_id=f"{data.month}:{data.scope}",
            at=rt.now(),
            payload={"recipients": data.recipients},
        )
        return {"month": data.month, "scope": data.scope, "recipients": data.recipients}


@router.put("/users/{username}/languages", responses=ERRORS, summary="A moderator's review languages")
def set_languages(
    username: str, data: Languages, rt: RT, who: Annotated[Principal, Depends(require(USERS_MANAGE))]
) -> dict[str, Any]:
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        if user is None:
            raise NotFound(f"no user {username}", {"field": "username"})
        for row in session.scalars(select(ModeratorLanguage).where(ModeratorLanguage.user_id == user.id)):
            session.delete(row)
        session.flush()
        langs = sorted(set(data.languages))
        session.add_all(ModeratorLanguage(user_id=user.id, language=lang) for lang in langs)
        events.record(
            session,
            "user.languages_set",
            actor=who.actor,
            subject_type="user",
            subject_id=username,
            at=rt.now(),
            payload={"languages": langs},
        )
        return {"username": username, "languages": langs}


def _account(session: Any, platform_id: str, field: str) -> Account:
    found = session.scalar(select(Account).where(Account.platform_id == platform_id))
    if found is None:
        raise NotFound(f"no account {platform_id}", {"field": field})
    return found


@router.get(
    "/accounts/{platform_id}/actions", responses=ERRORS, summary="An account's actions, for its owner"
)
def account_actions(
    platform_id: str, request: Request, rt: RT, _: Annotated[Principal, Depends(require(ACTIONS_READ))]
) -> dict[str, Any]:
    """Every action on the account or its posts, with its statement of reasons and an appeal link.
    Staff names are never shown: a decision is 'automated' or 'a person'."""
    with transaction(rt.sessions) as session:
        account = _account(session, platform_id, "platform_id")
        rows = session.scalars(
            select(Action).where(Action.account_id == account.id).order_by(Action.id)
        ).all()
        out = []
        for a in rows:
            applied = a.created_at.date()
            deadline = max(
                applied + timedelta(days=rt.settings.appeal_window_days), add_months(applied, APPEAL_MONTHS)
            )
            link = appeal_url(
                rt.settings.public_url or str(request.base_url),
                rt.link_key,
                "action",
                a.puid,
                platform_id,
                datetime.combine(deadline, time.max, tzinfo=UTC),
            )
            out.append(
                {
                    "action": a.action_type,
                    "target": a.target_type,
                    "post": a.post.platform_id if a.post is not None else None,
                    "policy": a.policy,
                    "decided_by": "automated" if a.automated else "a person",
                    "status": a.status,
                    "created_at": events.iso(a.created_at),
                    "ends_at": events.iso(a.ends_at) if a.ends_at else None,
                    "statement": a.statement,
                    "appeal_url": link,
                    "appeal_deadline": deadline.isoformat(),
                }
            )
        return {"account": platform_id, "actions": out}


@router.get("/reports", responses=ERRORS, summary="A reporter's reports and their outcomes")
def reporter_reports(
    rt: RT,
    _: Annotated[Principal, Depends(require(REPORTS_READ))],
    reporter: Annotated[str | None, Query(description="The reporting account's platform id")] = None,
) -> dict[str, Any]:
    if reporter is None or not re.match(r"^\S{1,128}$", reporter):
        raise Invalid("reporter is required (an account's platform id)", {"field": "reporter"})
    with transaction(rt.sessions) as session:
        account = _account(session, reporter, "reporter")
        rows = session.execute(
            select(Report, ReportOutcome.outcome, ReportOutcome.decided_at)
            .outerjoin(ReportOutcome, ReportOutcome.report_id == Report.id)
            .where(Report.reporter_id == account.id)
            .order_by(Report.id)
        ).all()
        return {
            "reporter": reporter,
            "reports": [
                {
                    "report": r.platform_id,
                    "subject_type": r.subject_type,
                    "reason": r.reason,
                    "created_at": events.iso(r.created_at),
                    "outcome": {"upheld": "action_taken", "rejected": "no_violation"}.get(o or "", "pending"),
                    "decided_at": events.iso(d) if d else None,
                }
                for r, o, d in rows
            ],
        }
