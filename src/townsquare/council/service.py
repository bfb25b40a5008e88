"""The advisory council: members with public affiliations, referrals with redacted packets, votes with
rationales and reason tags, and a bridging recommendation over the council's whole vote history.

Members vote support (+1), unsure (0) or oppose (−1) on open referrals (reinstatement applications that
the criteria send to the council, and policy changes staff refer). When a referral closes, the bridging
fit (`council/bridging.py`) runs over every vote the council has cast, and the referral's
recommendation is support, oppose or "no consensus". It is advice: a staff member makes the final call,
and departing from the recommendation needs a public reason.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.access.models import StaffUser
from townsquare.access.roles import COUNCIL_VOTE
from townsquare.access.service import Principal, active_roles
from townsquare.appeals.models import CouncilMember, CouncilReferral, CouncilVote, ReinstatementApplication
from townsquare.council.bridging import Vote, recommend
from townsquare.enforcement.models import Action
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime

VOTE_VALUES = {"support": 1, "unsure": 0, "oppose": -1}
REASON_TAGS = (
    "proportionate",
    "disproportionate",
    "risk_of_harm",
    "rehabilitation_shown",
    "insufficient_evidence",
    "public_interest",
    "free_expression",
    "consistency",
    "other",
)
VOTING_DAYS = 7
_REDACT = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "[email]"),
    (re.compile(r"(?:https?://|www\.)\S+"), "[link]"),
    (re.compile(r"(?<![\w@])@\w+"), "[handle]"),
    (re.compile(r"\+?\d[\d ()-]{6,}\d"), "[number]"),
)


class MemberIn(BaseModel):
    """Seat a staff user (who holds the council_member role) on the council."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=128)
    affiliation: str = Field(min_length=1, max_length=256)


class VoteIn(BaseModel):
    """A member's vote."""

    model_config = ConfigDict(extra="forbid")

    vote: Literal["support", "unsure", "oppose"]
    rationale: str = Field(min_length=1, max_length=4_000)
    tags: list[str] = Field(default_factory=list, max_length=5)


class PolicyReferralIn(BaseModel):
    """Ask the council about a policy change."""

    model_config = ConfigDict(extra="forbid")

    area: str = Field(max_length=64)
    version: int = Field(ge=1)
    question: str = Field(min_length=1, max_length=2_000)


def redact(text: str, names: list[str]) -> str:
    """Remove personal data from free text: emails, links, handles, phone numbers and the given names."""
    for pattern, label in _REDACT:
        text = pattern.sub(label, text)
    for name in sorted({n for n in names if len(n) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(name), "[name]", text, flags=re.IGNORECASE)
    return text


def _followers_band(n: int) -> str:
    for limit, label in (
        (1_000, "under 1k"),
        (10_000, "1k-10k"),
        (100_000, "10k-100k"),
        (1_000_000, "100k-1M"),
    ):
        if n < limit:
            return label
    return "1M+"


def application_packet(session: Session, app: ReinstatementApplication) -> dict[str, Any]:
    """What members see of a reinstatement application: no account id, handle, name or contact."""
    account = app.account
    ban = session.get(Action, app.ban_action_id)
    assert ban is not None
    names = [account.handle, account.display_name, account.platform_id]
    history: dict[str, int] = {
        str(policy): int(n)
        for policy, n in session.execute(
            select(Action.policy, func.count()).where(Action.account_id == account.id).group_by(Action.policy)
        )
    }
    facts = (ban.statement or {}).get("decision_facts", "")
    return {
        "policy": app.policy,
        "tier": app.tier,
        "banned_on": ban.created_at.date().isoformat(),
        "ban_reason": redact(ban.reason, names),
        "decision_facts": redact(str(facts), names),
        "statement": redact(app.statement, names),
        "prior_actions_by_policy": history,
        "followers": _followers_band(account.follower_count),
        "staff_views": [{"vote": v["vote"], "reason": redact(v["reason"], names)} for v in app.staff_votes],
    }


def _open_referral(
    session: Session,
    rt: Runtime,
    actor: str,
    *,
    kind: str,
    subject: str,
    question: str,
    packet: dict[str, Any],
    reason: str,
    application_id: int | None = None,
) -> CouncilReferral:
    """Open a referral for VOTING_DAYS and record who opened it and why."""
    now = rt.now()
    ref = CouncilReferral(
        kind=kind,
        application_id=application_id,
        subject=subject,
        question=question,
        packet=packet,
        state="open",
        opened_at=now,
        closes_at=now + timedelta(days=VOTING_DAYS),
    )
    session.add(ref)
    session.flush([ref])
    events.record(
        session,
        "council.referred",
        actor=actor,
        subject_type="council_referral",
        subject_id=ref.id,
        at=now,
        reason=reason,
        payload={"kind": ref.kind, "subject": ref.subject},
    )
    return ref


def refer_application(
    session: Session, rt: Runtime, app: ReinstatementApplication, why: str
) -> CouncilReferral:
    """Send a reinstatement application to the council."""
    return _open_referral(
        session,
        rt,
        "service:reinstatement",
        kind="reinstatement",
        application_id=app.id,
        subject=f"reinstatement:{app.public_id}",
        question=f"Should this account be reinstated? (referred because: {why})",
        packet=application_packet(session, app),
        reason=why,
    )


def refer_policy(session: Session, rt: Runtime, who: Principal, data: PolicyReferralIn) -> CouncilReferral:
    """Ask the council about a policy version (its public text is the packet)."""
    try:
        spec = rt.policies.version(data.area, data.version)
    except KeyError as exc:
        raise NotFound(f"no policy {data.area} v{data.version}", {"field": "version"}) from exc
    live = rt.policies.live(data.area)
    return _open_referral(
        session,
        rt,
        who.actor,
        kind="policy_change",
        subject=f"policy:{data.area}@{data.version}",
        question=data.question,
        packet={
            "area": data.area,
            "version": data.version,
            "state": spec.state,
            "definition": spec.policy.definition,
            "live_version": live.version if live else None,
            "live_definition": live.policy.definition if live else None,
        },
        reason=data.question,
    )


def seat(session: Session, rt: Runtime, who: Principal, data: MemberIn) -> CouncilMember:
    """Seat a member; the user must hold the council_member role."""
    user = session.scalar(select(StaffUser).where(StaffUser.username == data.username))
    if user is None:
        raise NotFound(f"no user {data.username}", {"field": "username"})
    if "council_member" not in active_roles(session, user.id, rt.now()):
        raise Invalid("grant the council_member role first", {"field": "username"})
    if session.scalar(
        select(CouncilMember.id).where(CouncilMember.user_id == user.id, CouncilMember.left_at.is_(None))
    ):
        raise Conflict(f"{data.username} already sits on the council", {"field": "username"})
    member = CouncilMember(
        user_id=user.id, display_name=data.display_name, affiliation=data.affiliation, joined_at=rt.now()
    )
    session.add(member)
    session.flush([member])
    events.record(
        session,
        "council.member_seated",
        actor=who.actor,
        subject_type="council_member",
        subject_id=member.id,
        at=rt.now(),
        payload={"display_name": data.display_name, "affiliation": data.affiliation},
    )
    return member


def _member(session: Session, who: Principal) -> CouncilMember:
    who.need(COUNCIL_VOTE)
    member = session.scalar(
        select(CouncilMember).where(CouncilMember.user_id == who.user_id, CouncilMember.left_at.is_(None))
    )
    if member is None:
        raise Forbidden("only a seated council member can vote", {"field": "member"})
    return member


def referral(session: Session, ref_id: int) -> CouncilReferral:
    """A referral by id, or 404."""
    ref = session.get(CouncilReferral, ref_id)
    if ref is None:
        raise NotFound(f"no referral {ref_id}", {"field": "referral_id"})
    return ref


def cast(session: Session, rt: Runtime, who: Principal, ref_id: int, data: VoteIn) -> CouncilVote:
    """Record a member's vote on an open referral (one per member)."""
    member = _member(session, who)
    ref = referral(session, ref_id)
    if ref.state != "open" or ref.closes_at <= rt.now():
        raise Conflict(f"referral {ref_id} is closed for voting", {"field": "referral_id"})
    unknown = sorted(set(data.tags) - set(REASON_TAGS))
    if unknown:
        raise Invalid(
            f"unknown reason tag {', '.join(unknown)}; use {', '.join(REASON_TAGS)}", {"field": "tags"}
        )
    if session.scalar(
        select(CouncilVote.id).where(CouncilVote.referral_id == ref.id, CouncilVote.member_id == member.id)
    ):
        raise Conflict("you have already voted on this referral", {"field": "referral_id"})
    row = CouncilVote(
        referral_id=ref.id,
        member_id=member.id,
        value=VOTE_VALUES[data.vote],
        rationale=data.rationale,
        tags=list(data.tags),
        cast_at=rt.now(),
    )
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "council.vote_cast",
        actor=who.actor,
        subject_type="council_referral",
        subject_id=ref.id,
        at=rt.now(),
        reason=data.rationale,
        payload={"vote": data.vote, "tags": list(data.tags)},
    )
    return row


def close(session: Session, rt: Runtime, who: Principal, ref_id: int) -> CouncilReferral:
    """Close voting and store the bridging recommendation (fitted over the council's whole history)."""
    ref = referral(session, ref_id)
    if ref.state != "open":
        raise Conflict(f"referral {ref_id} is already closed", {"field": "referral_id"})
    history = [
        Vote(member=str(m), case=str(r), value=int(v))
        for m, r, v in session.execute(
            select(CouncilVote.member_id, CouncilVote.referral_id, CouncilVote.value)
        )
    ]
    rec = recommend(history).get(str(ref.id)) if history else None
    votes = [v for v in history if v.case == str(ref.id)]
    outcome = rec.outcome if rec is not None else "no consensus"
    ref.recommendation = {
        "outcome": outcome,
        "reason": rec.reason if rec is not None else "no votes were cast",
        "intercept": round(rec.intercept, 4) if rec is not None else None,
        "level": round(rec.level, 4) if rec is not None else None,
        "votes": len(votes),
        "tally": {k: sum(1 for v in votes if v.value == val) for k, val in VOTE_VALUES.items()},
    }
    ref.state, ref.closed_at = "closed", rt.now()
    if ref.application_id is not None:
        app = session.get(ReinstatementApplication, ref.application_id)
        if app is not None:
            app.council_recommendation = ref.recommendation
    events.record(
        session,
        "council.closed",
        actor=who.actor,
        subject_type="council_referral",
        subject_id=ref.id,
        at=rt.now(),
        payload=ref.recommendation,
    )
    return ref


def referral_view(session: Session, ref: CouncilReferral, reveal_votes: bool) -> dict[str, Any]:
    """A referral with its packet; members' individual votes only once it is closed."""
    out: dict[str, Any] = {
        "id": ref.id,
        "kind": ref.kind,
        "subject": ref.subject,
        "question": ref.question,
        "packet": ref.packet,
        "state": ref.state,
        "closes_at": events.iso(ref.closes_at),
        "recommendation": ref.recommendation,
        "votes_cast": session.scalar(select(func.count()).where(CouncilVote.referral_id == ref.id)) or 0,
    }
    if reveal_votes and ref.state == "closed":
        rows = session.execute(
            select(CouncilVote, CouncilMember)
            .join(CouncilMember, CouncilMember.id == CouncilVote.member_id)
            .where(CouncilVote.referral_id == ref.id)
        ).all()
        out["votes"] = [
            {
                "member": m.display_name,
                "affiliation": m.affiliation,
                "vote": {1: "support", 0: "unsure", -1: "oppose"}[v.value],
                "rationale": v.rationale,
                "tags": v.tags,
            }
            for v, m in rows
        ]
    return out


def members_view(session: Session) -> list[dict[str, Any]]:
    """The seated members and their affiliations (public)."""
    rows = session.scalars(
        select(CouncilMember).where(CouncilMember.left_at.is_(None)).order_by(CouncilMember.id)
    )
    return [
        {
            "id": m.id,
            "display_name": m.display_name,
            "affiliation": m.affiliation,
            "since": m.joined_at.date().isoformat(),
        }
        for m in rows
    ]
