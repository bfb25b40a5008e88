"""Part 11: the operator-edited qualitative template, prefilled with what the system knows."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.errors import Invalid
from townsquare.eventlog import events
from townsquare.eventlog.events import Event
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime
from townsquare.taxonomy import area_title
from townsquare.transparency.models import QualitativeText
from townsquare.transparency.templates_dsa import template

INDICATORS: tuple[str, ...] = tuple(r[3].strip() for r in template("Part_11_qualitative.csv")[1])
MAX_TEXT = 20_000


def _live_policies(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(PolicyVersionRecord)
        .where(PolicyVersionRecord.kind == "policy", PolicyVersionRecord.state == "live")
        .order_by(PolicyVersionRecord.area)
    ).all()
    return [{"area": r.area, "version": r.version, **json.loads(r.content)} for r in rows]


def _models(session: Session) -> dict[str, Any]:
    last = session.scalar(
        select(Event).where(Event.type == "models.set_active").order_by(Event.id.desc()).limit(1)
    )
    return dict(events.body_of(last).get("versions", {})) if last is not None else {}


def _thresholds(policies: list[dict[str, Any]]) -> str:
    parts = []
    for p in policies:
        sigs = [
            f"{s['scorer']} review ≥ {s.get('review_threshold')}"
            + (f", automatic action ≥ {s['auto_threshold']}" if s.get("auto_threshold") is not None else "")
            for s in p.get("signals", [])
        ]
        auto = "on" if p.get("automation", {}).get("enabled") else "off"
        parts.append(f"{area_title(p['area'])} v{p['version']} (automation {auto}): " + "; ".join(sigs))
    return " | ".join(parts)


def defaults(session: Session, rt: Runtime) -> dict[str, str]:
    """The prefilled answer to every Part 11 indicator, from the live policies, models and QA rules."""
    s = rt.settings
    policies = _live_policies(session)
    models = _models(session)
    model_text = (
        ", ".join(f"{k} {v}" for k, v in sorted(models.items())) or "text banks only (no trained models)"
    )
    areas = ", ".join(area_title(p["area"]) for p in policies)
    qa = (
        f"{s.automation_qa_rate:.0%} of automated measures are sampled for human quality assurance; when a "
        f"policy's precision over at least {s.qa_min_samples} QA decisions falls below "
        f"{s.qa_precision_target:.0%}, its automated action pauses itself until a person lifts the pause. "
        f"{s.second_review_rate:.0%} of human decisions get an independent second review."
    )
    return {
        INDICATORS[0]: f"Townsquare scores every post against versioned policies ({areas}) and acts on the "
        "graduated ladder label, reduce reach, demonetise, remove, suspend, ban, with strikes that expire. "
        "Every measure carries a statement of reasons and is recorded in a tamper-evident event log.",
        INDICATORS[1]: "Posts that score above a policy's review threshold go to prioritised review queues; "
        "above its automatic threshold, and only where validated precision is at least 95%, the content rung "
        "is applied automatically. Suspensions and bans always need a person. Users can appeal every "
        "decision; reporters are told the outcome of their reports.",
        INDICATORS[
            2
        ]: f"Detection is a cascade of text banks and trained classifiers. Models in use: {model_text}.",
        INDICATORS[
            3
        ]: "Accuracy, precision and recall are estimated from the QA sample of automated measures "
        "and from review outcomes, with 95% intervals (Part 8). " + qa,
        INDICATORS[4]: f"Automated means detect and prioritise content and, per policy, act on content. "
        f"Thresholds in force: {_thresholds(policies)}.",
        INDICATORS[5]: qa + " Operators can pause automation for one policy or for all (kill switch); "
        "high-impact actions need two independent people.",
        INDICATORS[
            6
        ]: "Policy editors draft versions, a different person publishes them; an advisory council "
        "reviews reinstatements and policy changes; auditors read the event log.",
        INDICATORS[7]: "",
        INDICATORS[8]: "",
        INDICATORS[9]: "",
        INDICATORS[
            10
        ]: "Moderators are the active staff holding a deciding role on the last day of the period.",
    }


def current(session: Session, rt: Runtime) -> dict[str, dict[str, Any]]:
    """Each indicator's text: the operator's newest edit, else the prefill."""
    newest = (
        select(QualitativeText.indicator, func.max(QualitativeText.id).label("id"))
        .group_by(QualitativeText.indicator)
        .subquery()
    )
    edited = {
        row.indicator: row
        for row in session.scalars(select(QualitativeText).join(newest, newest.c.id == QualitativeText.id))
    }
    base = defaults(session, rt)
    return {
        ind: {"text": edited[ind].text, "edited": True, "edited_at": edited[ind].edited_at.isoformat()}
        if ind in edited
        else {"text": base[ind], "edited": False, "edited_at": None}
        for ind in INDICATORS
    }


def edit(session: Session, rt: Runtime, actor: str, texts: dict[str, str]) -> None:
    """Store the operator's edits (a new row each); unknown indicators are refused, naming the field."""
    for indicator, text in texts.items():
        if indicator not in INDICATORS:
            raise Invalid(f"unknown Part 11 indicator {indicator[:80]!r}", {"field": "texts"})
        if len(text) > MAX_TEXT:
            raise Invalid(f"at most {MAX_TEXT} characters per indicator", {"field": "texts"})
    now = rt.now()
    for indicator, text in texts.items():
        session.add(QualitativeText(indicator=indicator, text=text, edited_by=actor, edited_at=now))
    events.record(
        session,
        "transparency.texts_edited",
        actor=actor,
        subject_type="transparency",
        subject_id="part11",
        at=now,
        payload={"indicators": sorted(texts)},
    )
