"""Read projections for the workbench (shared by the JSON API and the pages): queues, case lists, a case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.access.models import StaffUser
from townsquare.content import repository as repo
from townsquare.content.models import Account, Post, Report
from townsquare.content.views import account_view, post_view
from townsquare.eventlog import events
from townsquare.review.models import OPEN_STATES, Case, CaseDecision, ReportOutcome
from townsquare.review.reports import track_record
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title


def _ts(value: datetime | None) -> str | None:
    return events.iso(value) if value is not None else None


def queue_summary(session: Session, rt: Runtime) -> list[dict[str, Any]]:
    """Every queue with its open cases by state and the age of its oldest one."""
    now = rt.now()
    rows = session.execute(
        select(Case.queue, Case.state, func.count(), func.min(Case.opened_at))
        .where(Case.state.in_(OPEN_STATES))
        .group_by(Case.queue, Case.state)
    ).all()
    counts: dict[str, dict[str, Any]] = {
        name: {"queue": name, "title": title, "open": 0, "by_state": {}, "oldest_age_hours": None}
        for name, title in rt.router.titles().items()
    }
    for queue, state, n, oldest in rows:
        entry = counts.setdefault(
            queue, {"queue": queue, "title": queue, "open": 0, "by_state": {}, "oldest_age_hours": None}
        )
        entry["open"] += int(n)
        entry["by_state"][state] = int(n)
        age = round((now - oldest).total_seconds() / 3600, 2) if oldest else None
        if age is not None and (entry["oldest_age_hours"] is None or age > entry["oldest_age_hours"]):
            entry["oldest_age_hours"] = age
    return list(counts.values())


def case_row(case: Case, now: datetime, holders: dict[int, str] | None = None) -> dict[str, Any]:
    """A case as a line of a queue."""
    text = case.post.text if case.post is not None else f"@{case.account.handle}"
    return {
        "id": case.id,
        "kind": case.kind,
        "queue": case.queue,
        "state": case.state,
        "subject_type": case.subject_type,
        "subject": case.post.platform_id if case.post is not None else case.account.platform_id,
        "excerpt": text[:280],
        "policy": case.policy,
        "policy_title": area_title(case.policy) if case.policy else None,
        "severity": case.severity,
        "score": round(case.score, 4),
        "priority": round(case.priority, 4),
        "opened_reason": case.opened_reason,
        "report_count": case.report_count,
        "trusted_flagger": case.trusted_flagger,
        "brigading": bool((case.brigading or {}).get("suspected")),
        "dup_group": case.dup_group,
        "assigned_to": (holders or {}).get(case.assigned_to or 0),
        "lock_expires_at": _ts(case.lock_expires_at),
        "age_hours": round((now - case.opened_at).total_seconds() / 3600, 2),
        "opened_at": _ts(case.opened_at),
        "revision": case.revision,
    }


def holders(session: Session) -> dict[int, str]:
    """Staff user id -> username."""
    return {uid: name for uid, name in session.execute(select(StaffUser.id, StaffUser.username))}


def list_cases(
    session: Session,
    rt: Runtime,
    queue: str | None = None,
    states: tuple[str, ...] = OPEN_STATES,
    dup_group: str | None = None,
    policy: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Cases ordered by priority (highest first)."""
    q = select(Case).where(Case.state.in_(states))
    if queue:
        q = q.where(Case.queue == queue)
    if dup_group:
        q = q.where(Case.dup_group == dup_group)
    if policy:
        q = q.where(Case.policy == policy)
    rows = session.scalars(q.order_by(Case.priority.desc(), Case.id).limit(limit)).all()
    who = holders(session)
    now = rt.now()
    return [case_row(c, now, who) for c in rows]


def _thread(session: Session, post: Post) -> dict[str, Any]:
    """The post it replies to or quotes, and the first replies to it."""
    parent = session.get(Post, post.reply_to_id) if post.reply_to_id else None
    quoted = session.get(Post, post.quote_of_id) if post.quote_of_id else None
    replies = session.scalars(
        select(Post).where(Post.reply_to_id == post.id).order_by(Post.id).limit(10)
    ).all()

    def brief(p: Post | None) -> dict[str, Any] | None:
        if p is None:
            return None
        return {
            "platform_id": p.platform_id,
            "author": p.author.handle,
            "author_id": p.author.platform_id,
            "text": p.text,
            "status": p.status,
        }

    return {"reply_to": brief(parent), "quote_of": brief(quoted), "replies": [brief(r) for r in replies]}


def _reports(session: Session, case: Case) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Report, ReportOutcome, Account)
        .join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .outerjoin(Account, Account.id == Report.reporter_id)
        .where(ReportOutcome.case_id == case.id)
        .order_by(Report.created_at)
    ).all()
    records = track_record(session, [a.id for _, _, a in rows if a is not None])
    return [
        {
            "report_id": r.id,
            "reason": r.reason,
            "text": r.text,
            "source": o.source,
            "suspicious": o.suspicious,
            "outcome": o.outcome,
            "created_at": _ts(r.created_at),
            "reporter": a.handle if a is not None else None,
            "reporter_id": a.platform_id if a is not None else None,
            "reporter_record": records.get(a.id) if a is not None else None,
        }
        for r, o, a in rows
    ]


def case_view(session: Session, rt: Runtime, case: Case) -> dict[str, Any]:
    """Everything a moderator needs to decide a case in seconds."""
    now = rt.now()
    out = case_row(case, now, holders(session))
    out.update(
        {
            "reasons": case.reasons,
            "proposed_action": case.proposed_action,
            "scorer": case.scorer,
            "priority_inputs": case.priority_inputs,
            "brigading_detail": case.brigading,
            "details": case.details,
            "excluded_reviewers": case.excluded_reviewers,
            "parent_case_id": case.parent_case_id,
            "action_id": case.action_id,
            "decision": case.decision,
            "decided_at": _ts(case.decided_at),
            "post_version": case.post_version,
            "reports": _reports(session, case),
            "decisions": [
                {
                    "reviewer": d.reviewer_id,
                    "outcome": d.outcome,
                    "policy": d.policy,
                    "action": d.action,
                    "reason": d.reason,
                    "decided_at": _ts(d.decided_at),
                }
                for d in session.scalars(select(CaseDecision).where(CaseDecision.case_id == case.id))
            ],
            "author": account_view(session, rt, case.account.platform_id),
            "policy_text": _policy_text(rt, case.policy),
            "group_size": _group_size(session, case),
        }
    )
    if case.post is not None:
        post = post_view(session, case.post.platform_id)
        post["thread"] = _thread(session, case.post)
        post["claims"] = _claims(post)
        out["post"] = post
    return out


def _policy_text(rt: Runtime, area: str | None) -> dict[str, Any] | None:
    spec = rt.policies.live(area) if area else None
    if spec is None:
        return None
    return {
        "area": area,
        "title": area_title(area or ""),
        "version": spec.version,
        "definition": spec.policy.definition,
        "ladder": [s.model_dump() for s in spec.policy.ladder],
    }


def _claims(post: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for s in post["signals"] for e in s.get("evidence", []) if e.get("kind") == "claim"]


def _group_size(session: Session, case: Case) -> int:
    if not case.dup_group:
        return 1
    return int(
        session.scalar(
            select(func.count()).where(Case.dup_group == case.dup_group, Case.state.in_(OPEN_STATES))
        )
        or 0
    )


def account_cases(session: Session, account_pid: str) -> list[int]:
    """Ids of the cases about an account or its posts."""
    account = repo.account(session, account_pid)
    return list(session.scalars(select(Case.id).where(Case.account_id == account.id).order_by(Case.id)))
