"""Insider-risk alerts: staff whose activity departs sharply from their peers', and conflicts of interest.

The rule, its formulas and thresholds are documented in docs/insider-risk.md; the numbers live in
`InsiderRule`, so a deployment can pass its own.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access.alerts import AUDITOR, raise_alert
from townsquare.access.interactions import interactions_of, target_accounts
from townsquare.access.models import Alert, StaffAccountLink, StaffUser
from townsquare.eventlog import events
from townsquare.eventlog.events import Event, body_of
from townsquare.runtime import Runtime

ALERT_KIND = "insider_risk"
RECIPIENT_ROLE = AUDITOR
HUMAN_PREFIX = "user:"
METRICS = ("volume", "reversal_rate", "protected_share")


@dataclass(frozen=True)
class InsiderRule:
    """The rule's constants (see docs/insider-risk.md for what each one does)."""

    window: timedelta = timedelta(days=7)
    z_threshold: float = 3.5
    min_peers: int = 3
    min_actions_for_rates: int = 5
    mad_to_sigma: float = 1.4826
    scale_floor: dict[str, float] = field(
        default_factory=lambda: {"volume": 1.0, "reversal_rate": 0.02, "protected_share": 0.02}
    )
    min_excess: dict[str, float] = field(
        default_factory=lambda: {"volume": 5.0, "reversal_rate": 0.20, "protected_share": 0.25}
    )
    volume_min_ratio: float = 2.0
    max_event_ids: int = 500


DEFAULT_RULE = InsiderRule()


@dataclass(frozen=True)
class InsiderAlert:
    """One finding: who, which rule, the numbers behind it and the events it rests on."""

    rule: str  # volume | reversal_rate | protected_share | interaction
    actor: str
    message: str
    window_start: datetime
    window_end: datetime
    metrics: dict[str, Any]
    event_ids: tuple[int, ...]
    key: str  # alerts with the same key are raised once per window

    def view(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "rule": self.rule,
            "actor": self.actor,
            "message": self.message,
            "window_start": events.iso(self.window_start),
            "window_end": events.iso(self.window_end),
            "metrics": self.metrics,
            "event_ids": list(self.event_ids),
            "key": self.key,
        }


@dataclass
class _Stats:
    actions: list[int] = field(default_factory=list)
    protected: list[int] = field(default_factory=list)
    reversed_by_others: list[int] = field(default_factory=list)


def robust_z(value: float, peers: list[float], floor: float, mad_to_sigma: float) -> dict[str, float]:
    """Modified z-score of `value` against `peers`: (value - median) / max(1.4826 * MAD, floor)."""
    med = statistics.median(peers)
    mad = statistics.median([abs(p - med) for p in peers])
    scale = max(mad_to_sigma * mad, floor)
    return {"value": value, "median": med, "mad": mad, "scale": scale, "z": (value - med) / scale}


def _human_events(session: Session, types: tuple[str, ...], start: datetime, end: datetime) -> list[Event]:
    stmt = (
        select(Event)
        .where(Event.type.in_(types), Event.occurred_at >= start, Event.occurred_at <= end)
        .where(Event.actor.startswith(HUMAN_PREFIX, autoescape=True))
        .order_by(Event.id)
    )
    return list(session.scalars(stmt))


def _reversers(session: Session, start: datetime) -> dict[str, set[str]]:
    """puid -> who reversed it (any reversal since the window opened; an action precedes its reversal)."""
    out: dict[str, set[str]] = defaultdict(set)
    for ev in session.scalars(
        select(Event).where(Event.type == "action.reversed", Event.occurred_at >= start)
    ):
        puid = (body_of(ev).get("payload") or {}).get("puid")
        if isinstance(puid, str):
            out[puid].add(ev.actor)
    return out


def _stats(applied: list[Event], reversers: dict[str, set[str]]) -> dict[str, _Stats]:
    out: dict[str, _Stats] = defaultdict(_Stats)
    for ev in applied:
        payload = body_of(ev).get("payload") or {}
        s = out[ev.actor]
        s.actions.append(ev.id)
        if payload.get("protected") is True:
            s.protected.append(ev.id)
        if reversers.get(str(payload.get("puid")), set()) - {ev.actor}:
            s.reversed_by_others.append(ev.id)
    return out


def _metric(s: _Stats, metric: str, rule: InsiderRule) -> tuple[float, list[int]] | None:
    """(value, supporting event ids), or None when the actor has too few actions for a rate."""
    n = len(s.actions)
    if metric == "volume":
        return float(n), s.actions
    if n < rule.min_actions_for_rates:
        return None
    ids = s.reversed_by_others if metric == "reversal_rate" else s.protected
    return len(ids) / n, ids


def _departs(metric: str, score: dict[str, float], rule: InsiderRule) -> bool:
    excess = score["value"] - score["median"]
    if score["z"] <= rule.z_threshold or excess < rule.min_excess[metric]:
        return False
    return metric != "volume" or score["value"] >= rule.volume_min_ratio * score["median"]


_DESCRIBE = {
    "volume": "applied {value:.0f} actions (peer median {median:g})",
    "reversal_rate": "had {value:.0%} of their actions reversed by others (peer median {median:.0%})",
    "protected_share": "acted on protected subjects in {value:.0%} of actions (peer median {median:.0%})",
}


def _statistical(
    stats: dict[str, _Stats], rule: InsiderRule, start: datetime, end: datetime
) -> list[InsiderAlert]:
    out = []
    for metric in METRICS:
        values = {a: m for a, s in stats.items() if (m := _metric(s, metric, rule)) is not None}
        for actor, (value, ids) in sorted(values.items()):
            peers = [v for other, (v, _) in values.items() if other != actor]
            if len(peers) < rule.min_peers:
                continue
            score = robust_z(value, peers, rule.scale_floor[metric], rule.mad_to_sigma)
            if not _departs(metric, score, rule):
                continue
            text = _DESCRIBE[metric].format(**score)
            out.append(
                InsiderAlert(
                    rule=metric,
                    actor=actor,
                    message=f"{actor} {text} over the window; robust z = {score['z']:.1f}",
                    window_start=start,
                    window_end=end,
                    metrics={**{k: round(v, 4) for k, v in score.items()}, "peers": len(peers)},
                    event_ids=tuple(ids[: rule.max_event_ids]),
                    key=f"{metric}:{actor}",
                )
            )
    return out


def _links(session: Session, actors: set[str]) -> dict[str, set[int]]:
    """Actor ("user:name") -> the platform account ids linked to that staff user."""
    names = {a[len(HUMAN_PREFIX) :] for a in actors}
    rows = session.execute(
        select(StaffUser.username, StaffAccountLink.account_id)
        .join(StaffAccountLink, StaffAccountLink.user_id == StaffUser.id)
        .where(StaffUser.username.in_(names))
    )
    out: dict[str, set[int]] = defaultdict(set)
    for username, account_id in rows:
        out[HUMAN_PREFIX + username].add(int(account_id))
    return out


def _interaction(acted: list[Event], session: Session, start: datetime, end: datetime) -> list[InsiderAlert]:
    links = _links(session, {ev.actor for ev in acted})
    acted = [ev for ev in acted if ev.actor in links]
    if not acted:
        return []
    targets = target_accounts(session, [(ev.subject_type, ev.subject_id) for ev in acted])
    relations = interactions_of(session, set().union(*links.values()))
    out = []
    for ev in acted:
        target = targets.get((ev.subject_type, ev.subject_id))
        if target is None:
            continue
        found = {(own, kind) for own in links[ev.actor] for kind in relations.get((own, target[0]), set())}
        if not found:
            continue
        kinds = sorted({kind for _, kind in found})
        out.append(
            InsiderAlert(
                rule="interaction",
                actor=ev.actor,
                message=(
                    f"{ev.actor} ({ev.type}) acted on {ev.subject_type} {ev.subject_id} of account "
                    f"{target[1]}, with which their own account has interacted ({', '.join(kinds)})"
                ),
                window_start=start,
                window_end=end,
                metrics={"target_account": target[1], "relations": kinds, "event_type": ev.type},
                event_ids=(ev.id,),
                key=f"interaction:{ev.actor}:{ev.id}",
            )
        )
    return out


def evaluate(session: Session, rt: Runtime, rule: InsiderRule = DEFAULT_RULE) -> list[InsiderAlert]:
    """Every current finding over the window ending at rt.now(); reads only."""
    end = rt.now()
    start = end - rule.window
    applied = _human_events(session, ("action.applied",), start, end)
    stats = _stats(applied, _reversers(session, start))
    findings = _statistical(stats, rule, start, end)
    acted = _human_events(session, ("action.applied", "action.reversed"), start, end)
    findings.extend(_interaction(acted, session, start, end))
    return findings


def record_alerts(
    session: Session,
    findings: list[InsiderAlert],
    *,
    actor: str,
    now: datetime,
    rule: InsiderRule = DEFAULT_RULE,
) -> list[Alert]:
    """Write an Alert for auditors and an `alert.raised` event per finding not yet alerted this window."""
    actors = {f.actor for f in findings}
    recent = session.scalars(
        select(Alert).where(
            Alert.kind == ALERT_KIND, Alert.subject.in_(actors), Alert.created_at > now - rule.window
        )
    )
    seen = {str((a.details or {}).get("key")) for a in recent}
    created = []
    for finding in findings:
        if finding.key in seen:
            continue
        seen.add(finding.key)
        alert = raise_alert(
            session,
            ALERT_KIND,
            finding.message,
            actor=actor,
            now=now,
            subject=finding.actor,
            details=finding.view(),
            recipient_role=RECIPIENT_ROLE,
        )
        created.append(alert)
    return created


def open_alerts(session: Session, limit: int = 100) -> list[Alert]:
    """Unacknowledged insider-risk alerts, newest first."""
    stmt = (
        select(Alert)
        .where(Alert.kind == ALERT_KIND, Alert.acknowledged_at.is_(None))
        .order_by(Alert.created_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def alert_view(alert: Alert) -> dict[str, Any]:
    """An alert row as JSON."""
    details = alert.details or {}
    return {
        "id": alert.id,
        "rule": details.get("rule"),
        "actor": alert.subject,
        "message": alert.message,
        "created_at": events.iso(alert.created_at),
        "event_ids": details.get("event_ids", []),
        "metrics": details.get("metrics", {}),
    }


def flagged_event_ids(session: Session) -> set[int]:
    """Ids of every event an insider-risk alert rests on (for the audit view's flags)."""
    out: set[int] = set()
    for details in session.scalars(select(Alert.details).where(Alert.kind == ALERT_KIND)):
        out.update(int(i) for i in (details or {}).get("event_ids", []) if isinstance(i, int))
    return out
