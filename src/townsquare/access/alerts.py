"""Security alerts for a role's members (auditors) or one user: raise, list, acknowledge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from townsquare.access.models import Alert
from townsquare.access.service import Principal
from townsquare.errors import Conflict, Forbidden, NotFound
from townsquare.eventlog import events

AUDITOR = "auditor"


def raise_alert(
    session: Session,
    kind: str,
    message: str,
    *,
    actor: str,
    now: datetime,
    subject: str = "",
    details: dict[str, Any] | None = None,
    recipient_role: str | None = AUDITOR,
    recipient_user_id: int | None = None,
) -> Alert:
    """Write an alert (every member of `recipient_role` sees it) and an `alert.raised` event."""
    alert = Alert(
        kind=kind,
        recipient_role=recipient_role,
        recipient_user_id=recipient_user_id,
        subject=subject,
        message=message,
        details=dict(details or {}),
        created_at=now,
    )
    session.add(alert)
    session.flush([alert])
    events.record(
        session,
        "alert.raised",
        actor=actor,
        subject_type="alert",
        subject_id=alert.id,
        at=now,
        reason=message,
        payload={"alert_id": alert.id, "kind": kind, "recipient_role": recipient_role, "subject": subject},
    )
    return alert


def _addressed_to(principal: Principal) -> Any:
    clauses: list[ColumnElement[bool]] = []
    if principal.roles:
        clauses.append(Alert.recipient_role.in_(sorted(principal.roles)))
    if principal.user_id is not None:
        clauses.append(Alert.recipient_user_id == principal.user_id)
    return or_(*clauses) if clauses else Alert.id.is_(None)


def list_alerts(
    session: Session, principal: Principal, *, unacknowledged: bool = False, limit: int = 200
) -> list[Alert]:
    """Alerts addressed to the caller (through a role they hold, or by name), newest first."""
    query = select(Alert).where(_addressed_to(principal))
    if unacknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    return list(session.scalars(query.order_by(Alert.created_at.desc(), Alert.id.desc()).limit(limit)))


def acknowledge(session: Session, principal: Principal, alert_id: int, *, now: datetime) -> Alert:
    """Mark an alert as seen; only someone it is addressed to may (so no one else can bury it)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}", {"field": "alert_id"})
    mine = (alert.recipient_role is not None and alert.recipient_role in principal.roles) or (
        alert.recipient_user_id is not None and alert.recipient_user_id == principal.user_id
    )
    if not mine:
        raise Forbidden("this alert is addressed to someone else", {"field": "alert_id"})
    if alert.acknowledged_at is not None:
        raise Conflict(f"alert {alert_id} was already acknowledged", {"field": "alert_id"})
    alert.acknowledged_at, alert.acknowledged_by = now, principal.actor
    events.record(
        session,
        "alert.acknowledged",
        actor=principal.actor,
        subject_type="alert",
        subject_id=alert.id,
        at=now,
        payload={"alert_id": alert.id, "kind": alert.kind},
    )
    return alert


def alert_view(alert: Alert) -> dict[str, Any]:
    """An alert as the API shows it."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "recipient_role": alert.recipient_role,
        "recipient_user_id": alert.recipient_user_id,
        "subject": alert.subject,
        "message": alert.message,
        "details": alert.details or {},
        "created_at": events.iso(alert.created_at),
        "acknowledged_at": events.iso(alert.acknowledged_at) if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by,
    }
