"""A case's history for the next person: reports, signals, every case event (escalations with their
reasons), the decisions of a first and a second review side by side, appeals and internal notes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townsquare.access.models import StaffUser
from townsquare.access.service import Principal
from townsquare.appeals.models import Appeal
from townsquare.content.models import Report
from townsquare.detection.models import SignalRecord
from townsquare.enforcement.models import Action
from townsquare.errors import Invalid
from townsquare.eventlog import events
from townsquare.eventlog.events import Event, body_of
from townsquare.review.models import Case, CaseDecision, CaseNote, ReportOutcome
from townsquare.review.service import get_case
from townsquare.runtime import Runtime

MAX_NOTE = 4_000
EVENT_TITLES = {
    "case.opened": "opened",
    "case.assigned": "taken",
    "case.released": "released",
    "case.escalated": "escalated",
    "case.decided": "decided",
    "case.noted": "note added",
}


def add_note(session: Session, rt: Runtime, who: Principal, case_id: int, body: str) -> CaseNote:
    """Add an internal note to a case (for colleagues; never shown to the platform's users)."""
    text = body.strip()
    if not text:
        raise Invalid("write the note first", {"field": "body"})
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", {"field": "body"})
    if who.user_id is None:
        raise Invalid("only a staff user can write notes", {"field": "body"})
    case = get_case(session, case_id)
    note = CaseNote(case_id=case.id, author_id=who.user_id, body=text, created_at=rt.now())
    session.add(note)
    session.flush()
    events.record(
        session,
        "case.noted",
        actor=who.actor,
        subject_type="case",
        subject_id=case.id,
        at=note.created_at,
        payload={"note_id": note.id, "queue": case.queue, "state": case.state},
    )
    return note


def related(session: Session, case: Case) -> list[Case]:
    """The case, the cases it came from (a second review's first review) and those opened from it."""
    chain: list[Case] = [case]
    seen = {case.id}
    parent = case
    while parent.parent_case_id is not None and parent.parent_case_id not in seen:
        parent = get_case(session, parent.parent_case_id)
        chain.append(parent)
        seen.add(parent.id)
    frontier = [case.id]
    while frontier:
        children = session.scalars(
            select(Case).where(Case.parent_case_id.in_(frontier), Case.id.not_in(seen))
        ).all()
        chain.extend(children)
        seen.update(c.id for c in children)
        frontier = [c.id for c in children]
    return sorted(chain, key=lambda c: c.id)


def verdicts(session: Session, case: Case, names: dict[int, str]) -> list[dict[str, Any]]:
    """The first and the second review's decisions when this case is (or follows) a second review."""
    cases = related(session, case)
    second = next((c for c in cases if c.kind == "second_review"), None)
    if second is None or second.parent_case_id is None:
        return []
    out = []
    for label, cid in (("First review", second.parent_case_id), ("Second review", second.id)):
        d = session.scalars(
            select(CaseDecision).where(CaseDecision.case_id == cid).order_by(CaseDecision.id.desc()).limit(1)
        ).first()
        out.append(
            {
                "label": label,
                "case_id": cid,
                "reviewer": names.get(d.reviewer_id, "?") if d else None,
                "outcome": d.outcome if d else "not decided yet",
                "policy": d.policy if d else None,
                "action": d.action if d else None,
                "reason": d.reason if d else "",
                "at": events.iso(d.decided_at) if d else None,
            }
        )
    return out


def _entry(
    at: Any, kind: str, title: str, text: str = "", by: str = "", case_id: int | None = None
) -> dict[str, Any]:
    return {
        "at": at if isinstance(at, str) else events.iso(at),
        "kind": kind,
        "title": title,
        "text": text,
        "by": by,
        "case_id": case_id,
    }


def timeline(session: Session, case: Case, names: dict[int, str]) -> list[dict[str, Any]]:
    """Everything that happened to the case and its related cases, oldest first."""
    cases = related(session, case)
    ids = [c.id for c in cases]
    out: list[dict[str, Any]] = []
    rows = session.scalars(
        select(Event)
        .where(Event.subject_type == "case", Event.subject_id.in_([str(i) for i in ids]))
        .order_by(Event.id)
    )
    for ev in rows:
        if ev.type == "case.noted":
            continue  # the note itself is listed below
        body = body_of(ev)
        payload = body.get("payload", {})
        title = EVENT_TITLES.get(ev.type, ev.type)
        if ev.type == "case.decided":
            what = payload.get("outcome", "")
            if payload.get("policy"):
                what += f": {payload.get('action')} under {payload.get('policy')}"
            title = f"decided ({what})"
        elif ev.type == "case.opened":
            title = f"opened as {payload.get('kind', 'case')} in {payload.get('queue', '?')}"
        out.append(
            _entry(
                body["at"],
                ev.type.split(".")[-1],
                title,
                body.get("reason", ""),
                ev.actor,
                int(ev.subject_id),
            )
        )
    reports = session.execute(
        select(Report, ReportOutcome.case_id)
        .join(ReportOutcome, ReportOutcome.report_id == Report.id)
        .where(ReportOutcome.case_id.in_(ids))
    ).all()
    for r, cid in reports:
        out.append(_entry(r.created_at, "report", f"reported: {r.reason}", r.text or "", "", cid))
    if case.post_id is not None:
        for s in session.scalars(
            select(SignalRecord).where(SignalRecord.post_id == case.post_id, SignalRecord.score >= 0.5)
        ):
            out.append(
                _entry(
                    s.created_at,
                    "signal",
                    f"signal {s.scorer}@{s.scorer_version}: {s.score:.2f}",
                    s.policy or "",
                )
            )
    for n in session.scalars(select(CaseNote).where(CaseNote.case_id.in_(ids))):
        out.append(_entry(n.created_at, "note", "note", n.body, names.get(n.author_id, "?"), n.case_id))
    subject = (
        Action.post_id == case.post_id if case.post_id is not None else Action.account_id == case.account_id
    )
    action_ids = select(Action.id).where(subject)
    for a in session.scalars(select(Appeal).where(or_(Appeal.action_id.in_(action_ids)))):
        text = a.statement
        out.append(_entry(a.created_at, "appeal", f"appeal {a.public_id} received", text, "appellant"))
        if a.decided_at is not None:
            out.append(
                _entry(
                    a.decided_at,
                    "appeal",
                    f"appeal {a.public_id} {a.outcome}",
                    a.reason or "",
                    a.decided_by or "",
                )
            )
    return sorted(out, key=lambda e: e["at"] or "")


def staff_names(session: Session) -> dict[int, str]:
    """Staff user id -> username."""
    return {uid: name for uid, name in session.execute(select(StaffUser.id, StaffUser.username))}
