"""Publishing a transparency report: a two-person action; the published report is immutable and its
SHA-256 is recorded in the event log, so anyone can check the public files against the chain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import TRANSPARENCY_EXPORT, TRANSPARENCY_PUBLISH
from townsquare.access.service import Principal
from townsquare.errors import Conflict, Forbidden, NotFound
from townsquare.eventlog import events
from townsquare.eventlog.events import Event, canonical_json
from townsquare.runtime import Runtime
from townsquare.transparency import report as builder
from townsquare.transparency.models import PublishedReport
from townsquare.transparency.templates_dsa import Period

KIND = "transparency_publish"


def request(
    session: Session, rt: Runtime, who: Principal, period: Period, reason: str
) -> tuple[PublishedReport, Approval]:
    """Open the approval that publishes the report for `period` (a second, independent person decides)."""
    who.need(TRANSPARENCY_EXPORT)
    existing = session.scalars(
        select(PublishedReport).where(
            PublishedReport.period_from == period.first, PublishedReport.period_to == period.last
        )
    ).all()
    if any(r.state == "published" for r in existing):
        raise Conflict(f"the report for {period.label} is already published", {"field": "from"})
    if any(r.state == "pending" for r in existing):
        raise Conflict(f"publication of {period.label} already awaits approval", {"field": "from"})
    row = PublishedReport(
        period_from=period.first, period_to=period.last, version=1, state="pending", requested_at=rt.now()
    )
    session.add(row)
    session.flush([row])
    approval = approvals.request_approval(
        session,
        rt,
        who,
        KIND,
        {"report": row.id, "from": period.first.isoformat(), "to": period.last.isoformat()},
        f"publish the DSA transparency report for {period.label}",
        TRANSPARENCY_PUBLISH,
        reason,
    )
    row.approval_id = approval.id
    events.record(
        session,
        "transparency.publish_requested",
        actor=who.actor,
        subject_type="transparency_report",
        subject_id=row.id,
        at=rt.now(),
        reason=reason,
        payload={"period": period.label, "approval": approval.id},
    )
    return row, approval


@approvals.executor(KIND, requester_needs=TRANSPARENCY_EXPORT)
def _publish(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    row = session.get(PublishedReport, int(approval.payload["report"]))
    if row is None:
        raise NotFound("the report to publish is gone", {"field": "report"})
    if row.state != "pending":
        raise Conflict(f"report {row.id} is {row.state}", {"field": "report"})
    if approvals.requester(session, rt, approval, need=TRANSPARENCY_EXPORT) is None:
        raise Forbidden("the requester may no longer export transparency data", {"field": "requested_by"})
    now = rt.now()
    rep = builder.build(session, rt, Period(row.period_from, row.period_to), published=now.date())
    body = canonical_json(rep)
    row.body, row.sha256 = body, hashlib.sha256(body.encode("utf-8")).hexdigest()
    row.state, row.published_at = "published", now
    events.record(
        session,
        "transparency.report_published",
        actor=approval.requested_by,
        subject_type="transparency_report",
        subject_id=row.id,
        at=now,
        reason=approval.reason,
        payload={
            "period": Period(row.period_from, row.period_to).label,
            "sha256": row.sha256,
            "approval": approval.id,
            "approved_by": approval.decided_by,
        },
    )
    return {"report": row.id, "sha256": row.sha256}


def published(session: Session) -> list[PublishedReport]:
    """Every published report, newest period first."""
    return list(
        session.scalars(
            select(PublishedReport)
            .where(PublishedReport.state == "published")
            .order_by(PublishedReport.period_to.desc(), PublishedReport.id.desc())
        )
    )


def load(session: Session, report_id: int) -> tuple[PublishedReport, dict[str, Any]]:
    """A published report and its content, after checking it against the hash in the event log."""
    row = session.get(PublishedReport, report_id)
    if row is None or row.state != "published" or row.body is None:
        raise NotFound(f"no published report {report_id}", {"field": "report_id"})
    logged = session.scalars(
        select(Event).where(Event.type == "transparency.report_published", Event.subject_id == str(row.id))
    ).first()
    digest = hashlib.sha256(row.body.encode("utf-8")).hexdigest()
    if logged is None or events.body_of(logged)["payload"].get("sha256") != digest or digest != row.sha256:
        raise Conflict("this report does not match the hash in the event log", {"field": "report_id"})
    content: dict[str, Any] = json.loads(row.body)
    return row, content
