"""`audit reconcile`: replay the event log and report every projection that disagrees with it.

The log is the source of truth; the projections (which posts and accounts exist, a post's status, the
actions and strikes tables, an account's standing and erasure) are written in the same transaction as
the events that explain them. Replaying the events in commit order must give the projections back, so
an edit made behind the log's back (a removed post set back to visible, an action deleted or
un-reversed, a strike dropped, a ban lifted in SQL) shows up here even though `audit verify` passes:
verify proves the log, reconcile holds the tables to it. It reads one snapshot and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content.models import Account, Post
from townsquare.enforcement.models import Action, Strike
from townsquare.eventlog import chain_lock
from townsquare.eventlog.events import Event, iso
from townsquare.runtime import Runtime
from townsquare.taxonomy import ACTIONS, POST_STATUS_FOR_ACTION, severity_rank

MAX_LISTED = 1000  # disagreements kept one by one; any further are counted
_SEQUENCED = ("action.applied", "action.reversed", "strike.issued", "strike.removed")
_EXISTENCE = ("post.created", "post.deleted", "account.created", "account.erased")


@dataclass(frozen=True)
class Disagreement:
    """One projection that the log does not explain."""

    kind: str  # e.g. post_status, action_missing, action_unlogged, strike_removed, account_standing
    subject: str  # "post p-1", "action <puid>", "account acct-9"
    log: str  # what replaying the log gives
    found: str  # what the projection holds

    def message(self) -> str:
        """One line naming the subject, what the table holds and what the log says."""
        return f"{self.kind}: {self.subject}: the table holds {self.found}; the log says {self.log}"

    def view(self) -> dict[str, str]:
        """As JSON."""
        return {"kind": self.kind, "subject": self.subject, "log": self.log, "found": self.found}


@dataclass
class ReconcileResult:
    """Every disagreement found (the first MAX_LISTED listed), and how much was compared."""

    disagreements: list[Disagreement] = field(default_factory=list)
    total: int = 0
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every projection agrees with the log."""
        return self.total == 0

    def add(self, kind: str, subject: str, log: str, found: str) -> None:
        """Record a disagreement."""
        self.total += 1
        if len(self.disagreements) < MAX_LISTED:
            self.disagreements.append(Disagreement(kind, subject, log, found))

    def view(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "ok": self.ok,
            "disagreements": [d.view() for d in self.disagreements],
            "total": self.total,
            "listed": len(self.disagreements),
            "checked": self.checked,
        }


@dataclass
class _Act:
    action: str
    target: tuple[str, str]  # (post | account, platform id)
    ends_at: datetime | None
    active: bool = True


@dataclass
class _Strike:
    account: str
    policy: str
    expires_at: str
    removed: bool = False


@dataclass
class _Replay:
    """The state the log explains."""

    actions: dict[str, _Act] = field(default_factory=dict)
    by_account: dict[str, list[_Act]] = field(default_factory=dict)  # account-target actions
    strikes: dict[str, _Strike] = field(default_factory=dict)
    standing: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)
    created: dict[str, set[str]] = field(default_factory=lambda: {"post": set(), "account": set()})
    deleted: set[str] = field(default_factory=set)
    erased: set[str] = field(default_factory=set)


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None


def _sequenced(session: Session) -> Iterator[tuple[str, str, str, datetime, dict[str, Any]]]:
    """Action and strike events in commit order: (type, subject type, subject id, time, payload)."""
    stmt = (
        select(Event.type, Event.subject_type, Event.subject_id, Event.occurred_at, Event.body)
        .where(Event.type.in_(_SEQUENCED))
        .order_by(Event.batch_id, Event.idx)
        .execution_options(yield_per=2000)
    )
    for kind, subject_type, subject_id, at, body in session.execute(stmt):
        payload = json.loads(body).get("payload") or {}
        yield kind, subject_type, subject_id, at, payload if isinstance(payload, dict) else {}


def _account_after_reversal(replay: _Replay, account: str, at: datetime) -> tuple[str, datetime | None]:
    """What enforcement.reverse recomputes: any live ban, else the latest live suspension, else good."""
    live = [
        a
        for a in replay.by_account.get(account, [])
        if a.active and (a.action == "ban" or (a.ends_at is not None and a.ends_at > at))
    ]
    if any(a.action == "ban" for a in live):
        return "banned", None
    if live:
        return "suspended", max(a.ends_at for a in live if a.ends_at)
    return "good", None


def replay(session: Session) -> _Replay:
    """Replay the events that explain the projections (committed ones, sealed or not)."""
    out = _Replay()
    for kind, subject_type, subject_id in session.execute(
        select(Event.type, Event.subject_type, Event.subject_id).where(Event.type.in_(_EXISTENCE))
    ):
        if kind.endswith(".created"):
            out.created[subject_type].add(subject_id)
        elif kind == "post.deleted":
            out.deleted.add(subject_id)
        else:
            out.erased.add(subject_id)
    for kind, subject_type, subject_id, at, p in _sequenced(session):
        puid = str(p.get("puid"))
        if kind == "action.applied":
            act = _Act(str(p.get("action")), (subject_type, subject_id), _time(p.get("ends_at")))
            out.actions[puid] = act
            if subject_type == "account":
                out.by_account.setdefault(subject_id, []).append(act)
            if p.get("action") == "ban":
                out.standing[subject_id] = ("banned", None)
            elif p.get("action") == "suspend":
                out.standing[subject_id] = ("suspended", _time(p.get("ends_at")))
        elif kind == "action.reversed" and puid in out.actions:
            act = out.actions[puid]
            act.active = False
            if act.target[0] == "account":
                out.standing[act.target[1]] = _account_after_reversal(out, act.target[1], at)
        elif kind == "strike.issued":
            out.strikes[puid] = _Strike(subject_id, str(p.get("policy")), str(p.get("expires_at")))
        elif kind == "strike.removed" and puid in out.strikes:
            out.strikes[puid].removed = True
    return out


def _show(value: datetime | None) -> str:
    return iso(value) if value is not None else "none"


def _check_actions(session: Session, log: _Replay, out: ReconcileResult) -> None:
    rows = session.execute(
        select(Action.puid, Action.action_type, Action.target_type, Action.status, Action.ends_at)
        .add_columns(Post.platform_id, Account.platform_id)
        .join(Account, Account.id == Action.account_id)
        .outerjoin(Post, Post.id == Action.post_id)
    )
    seen = set()
    for puid, action, target, status, ends_at, post_pid, account_pid in rows:
        seen.add(puid)
        subject = f"action {puid}"
        logged = log.actions.get(puid)
        if logged is None:
            out.add("action_unlogged", subject, "no such action", f"{action} on {target} ({status})")
            continue
        where = (target, post_pid if target == "post" else account_pid)
        if (action, where) != (logged.action, logged.target):
            out.add(
                "action_altered",
                subject,
                f"{logged.action} on {' '.join(logged.target)}",
                f"{action} on {' '.join(where)}",
            )
        expected = "active" if logged.active else "reversed"
        if status != expected:
            out.add("action_status", subject, expected, status)
        if _show(ends_at) != _show(logged.ends_at):
            out.add("action_ends_at", subject, f"ends {_show(logged.ends_at)}", f"ends {_show(ends_at)}")
    for puid in log.actions.keys() - seen:
        act = log.actions[puid]
        out.add(
            "action_missing", f"action {puid}", f"{act.action} on {' '.join(act.target)}", "no such action"
        )
    out.checked["actions"] = len(log.actions.keys() | seen)


def _check_strikes(session: Session, log: _Replay, out: ReconcileResult) -> None:
    rows = session.execute(
        select(Action.puid, Account.platform_id, Strike.policy, Strike.expires_at, Strike.removed_at)
        .join(Action, Action.id == Strike.action_id)
        .join(Account, Account.id == Strike.account_id)
    )
    seen = set()
    for puid, account, policy, expires_at, removed_at in rows:
        seen.add(puid)
        subject = f"strike for action {puid}"
        logged = log.strikes.get(puid)
        if logged is None:
            out.add("strike_unlogged", subject, "no such strike", f"a strike on account {account}")
            continue
        found = (account, policy, iso(expires_at))
        if found != (logged.account, logged.policy, logged.expires_at):
            out.add(
                "strike_altered",
                subject,
                f"account {logged.account}, {logged.policy}, expires {logged.expires_at}",
                f"account {account}, {policy}, expires {iso(expires_at)}",
            )
        if (removed_at is not None) != logged.removed:
            state = ("removed", "in force")
            out.add("strike_removed", subject, state[not logged.removed], state[removed_at is None])
    for puid in log.strikes.keys() - seen:
        out.add(
            "strike_missing",
            f"strike for action {puid}",
            f"a strike on account {log.strikes[puid].account}",
            "no such strike",
        )
    out.checked["strikes"] = len(log.strikes.keys() | seen)


def _post_statuses(log: _Replay) -> dict[str, str]:
    """The status each post with actions should have: the most severe active post action's."""
    best: dict[str, int] = {}
    for act in log.actions.values():
        if act.active and act.target[0] == "post" and act.action in POST_STATUS_FOR_ACTION:
            best[act.target[1]] = max(best.get(act.target[1], 0), severity_rank(act.action))
    return {pid: POST_STATUS_FOR_ACTION[ACTIONS[rank - 1]] for pid, rank in best.items()}


def _check_posts(session: Session, log: _Replay, out: ReconcileResult) -> None:
    statuses = _post_statuses(log)
    seen = set()
    for pid, status in session.execute(
        select(Post.platform_id, Post.status).execution_options(yield_per=5000)
    ):
        seen.add(pid)
        if pid not in log.created["post"]:
            out.add("post_unlogged", f"post {pid}", "no such post", f"a post ({status})")
            continue
        expected = "deleted" if pid in log.deleted else statuses.get(pid, "visible")
        if status != expected:
            out.add("post_status", f"post {pid}", expected, status)
    for pid in sorted(log.created["post"] - seen):
        out.add("post_missing", f"post {pid}", "a post", "no such post")
    out.checked["posts"] = len(seen | log.created["post"])


def _effective(standing: str, until: datetime | None, now: datetime) -> str:
    """Standing as of now, as enforcement.current_standing reads it (a past suspension is over)."""
    if standing == "suspended":
        return "good" if until is not None and until <= now else f"suspended until {_show(until)}"
    return standing


def _check_accounts(session: Session, log: _Replay, now: datetime, out: ReconcileResult) -> None:
    seen = set()
    rows = select(Account.platform_id, Account.standing, Account.standing_until, Account.erased_at)
    for pid, standing, until, erased_at in session.execute(rows.execution_options(yield_per=5000)):
        seen.add(pid)
        subject = f"account {pid}"
        if pid not in log.created["account"]:
            out.add("account_unlogged", subject, "no such account", f"an account ({standing})")
            continue
        expected = _effective(*log.standing.get(pid, ("good", None)), now)
        found = _effective(standing, until, now)
        if found != expected:
            out.add("account_standing", subject, expected, found)
        if (erased_at is not None) != (pid in log.erased):
            out.add(
                "account_erased",
                subject,
                *(("erased", "not erased") if pid in log.erased else ("not erased", "erased")),
            )
    for pid in sorted(log.created["account"] - seen):
        out.add("account_missing", f"account {pid}", "an account", "no such account")
    out.checked["accounts"] = len(seen | log.created["account"])


def reconcile(session: Session, now: datetime) -> ReconcileResult:
    """Compare every projection the log explains with the log, in one snapshot (`session`)."""
    log = replay(session)
    out = ReconcileResult()
    _check_actions(session, log, out)
    _check_strikes(session, log, out)
    _check_posts(session, log, out)
    _check_accounts(session, log, now, out)
    return out


def run(rt: Runtime) -> ReconcileResult:
    """Reconcile now, reading one consistent snapshot while writers carry on."""
    with chain_lock.read_snapshot(rt.engine) as session:
        return reconcile(session, rt.now())
