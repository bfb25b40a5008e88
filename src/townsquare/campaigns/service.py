"""Campaigns in the service: feed stored posts to the detector, turn what it finds into cases, decide them.

Each process keeps one detector per database (the recent coordination network lives in memory; after a
restart it refills from new posts, which is enough for campaigns that unfold over minutes). A detected
campaign is stored with its accounts, posts, timeline and evidence, and each of its posts gets a review
case (opened reason `campaign`), so the campaign can be decided as a whole: a bulk decision over its
cases that always needs a second person (approval kind `campaign_decide`).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import BULK_DECIDE
from townsquare.access.service import Principal
from townsquare.campaigns.detector import Detector, Found, Observation
from townsquare.campaigns.models import Campaign, CampaignPost
from townsquare.content.models import Account, Post
from townsquare.errors import Conflict, Forbidden, Invalid, NotFound
from townsquare.eventlog import events
from townsquare.review import bulk, intake
from townsquare.runtime import Runtime

ACTOR = "service:campaigns"
SCORER = "campaigns.coordination"
POLICY = "spam"  # "coordinated networks that inflate attention" (policies/spam.yaml)
SWEEP_EVERY = timedelta(seconds=60)
_TRIVIAL = re.compile(r"^\s*(rt\b|repost\b)?\s*(https?://\S+)?\s*$", re.IGNORECASE)


class _Live:
    """One database's detector and when it last swept (guarded: requests run on many threads)."""

    def __init__(self) -> None:
        self.detector = Detector()
        self.swept: datetime | None = None
        self.lock = threading.Lock()


_detectors: weakref.WeakKeyDictionary[Engine, _Live] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


def live(rt: Runtime) -> _Live:
    """This process's detector for the runtime's database."""
    with _guard:
        found = _detectors.get(rt.engine)
        if found is None:
            found = _detectors[rt.engine] = _Live()
        return found


def _parents(session: Session, refs: set[str]) -> dict[str, tuple[int, str]]:
    """Parent post ref -> (its id, its author's platform id)."""
    if not refs:
        return {}
    rows = session.execute(
        select(Post.platform_id, Post.id, Account.platform_id)
        .join(Account, Account.id == Post.author_id)
        .where(Post.platform_id.in_(refs))
    )
    return {ref: (pid, author) for ref, pid, author in rows}


def observe(session: Session, rt: Runtime, stored: Sequence[Any]) -> list[Campaign]:
    """Feed stored posts (elections.hooks.Stored) to the detector; store the campaigns a sweep finds."""
    if not stored:
        return []
    parents = _parents(session, {r for s in stored for r in (s.reply_to, s.quote_of) if r})
    state = live(rt)
    with state.lock:
        for s in stored:
            reply = parents.get(s.reply_to or "")
            quoted = parents.get(s.quote_of or "")
            repost = quoted[0] if quoted and _TRIVIAL.match(s.text) else None
            state.detector.observe(
                Observation(
                    s.post_id,
                    s.author_id,
                    s.created_at,
                    s.text,
                    s.author_created_at,
                    reply_to_account=reply[1] if reply else None,
                    repost_of=repost,
                )
            )
        now = state.detector.now
        if now is None or (state.swept is not None and now - state.swept < SWEEP_EVERY):
            return []
        state.swept = now
        found = state.detector.sweep(now)
    return [store(session, rt, f) for f in found]


def sweep(session: Session, rt: Runtime) -> list[Campaign]:
    """Run a sweep now (the war room and the campaigns page call it, so nothing waits for traffic)."""
    state = live(rt)
    with state.lock:
        if state.detector.now is None:
            return []
        state.swept = state.detector.now
        found = state.detector.sweep(state.detector.now)
    return [store(session, rt, f) for f in found]


def store(session: Session, rt: Runtime, found: Found) -> Campaign:
    """Create or grow the stored campaign, with a review case per new post."""
    camp = session.scalar(select(Campaign).where(Campaign.key == found.key))
    now = rt.now()
    created = camp is None
    if camp is None:
        camp = Campaign(
            key=found.key,
            state="open",
            first_post_at=found.first_at,
            last_post_at=found.last_at,
            detected_at=now,
            kinds=[],
            evidence={},
        )
        session.add(camp)
        session.flush([camp])
    camp.kinds = sorted(set(camp.kinds or []) | found.kinds)
    camp.evidence = {**found.evidence, "detector_first_seen": events.iso(found.detected_at)}
    camp.score = found.score
    camp.first_post_at, camp.last_post_at = found.first_at, found.last_at
    known = set(session.scalars(select(CampaignPost.post_id).where(CampaignPost.campaign_id == camp.id)))
    new_ids = [int(p) for p in found.posts if int(p) not in known]  # type: ignore[call-overload]
    posts = list(session.scalars(select(Post).where(Post.id.in_(new_ids)))) if new_ids else []
    openings = [
        intake.Opening(
            "review",
            "campaign",
            account=p.author,
            post=p,
            reasons=[f"campaign:{found.key}"],
            policy=POLICY,
            severity="medium",
            score=found.score,
            scorer=SCORER,
        )
        for p in posts
        if p.status != "deleted"
    ]
    cases = {c.post_id: c.id for c in intake.open_cases(session, rt, openings)} if openings else {}
    for p in posts:
        session.add(
            CampaignPost(
                campaign_id=camp.id,
                post_id=p.id,
                account_id=p.author_id,
                case_id=cases.get(p.id),
                reasons=sorted(found.kinds),
                posted_at=p.created_at,
            )
        )
    if not created:
        camp.revision += 1
    events.record(
        session,
        "campaign.detected" if created else "campaign.grown",
        actor=ACTOR,
        subject_type="campaign",
        subject_id=camp.id,
        at=now,
        reason=", ".join(sorted(found.kinds)),
        payload={
            "key": found.key,
            "accounts": len(found.accounts),
            "posts": len(found.posts),
            "new_posts": len(posts),
            "kinds": sorted(found.kinds),
        },
    )
    return camp


class CampaignDecision(BaseModel):
    """One decision for every post of a campaign (content actions; account actions stay individual)."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["no_violation", "violation"]
    policy: str | None = Field(default=None, max_length=64)
    action: Literal["label", "reduce_reach", "demonetise", "remove"] | None = None
    reason: str = Field(min_length=1, max_length=2_000)


def get(session: Session, campaign_id: int) -> Campaign:
    """One campaign, or 404."""
    camp = session.get(Campaign, campaign_id)
    if camp is None:
        raise NotFound(f"no campaign {campaign_id}", {"field": "campaign_id"})
    return camp


def _case_ids(session: Session, camp: Campaign) -> list[int]:
    rows = session.scalars(select(CampaignPost.case_id).where(CampaignPost.campaign_id == camp.id))
    return [c for c in rows if c is not None]


def _bulk(camp_id: int, data: CampaignDecision, case_ids: list[int]) -> bulk.BulkCaseDecision:
    return bulk.BulkCaseDecision(
        filter=bulk.CaseFilter(case_ids=case_ids),
        outcome=data.outcome,
        policy=data.policy,
        action=data.action,
        reason=f"campaign {camp_id}: {data.reason}",
    )


def decide(
    session: Session, rt: Runtime, who: Principal, campaign_id: int, data: CampaignDecision
) -> Approval:
    """Ask for a decision on the whole campaign; a second person carries it out (always)."""
    who.need(BULK_DECIDE)
    camp = get(session, campaign_id)
    if camp.state != "open":
        raise Conflict(f"campaign {campaign_id} is {camp.state}", {"field": "campaign_id"})
    case_ids = _case_ids(session, camp)
    if not case_ids:
        raise Invalid("the campaign has no open cases to decide", {"field": "campaign_id"})
    bulk.check(rt, who, _bulk(camp.id, data, case_ids))
    approval = approvals.request_approval(
        session,
        rt,
        who,
        "campaign_decide",
        {"campaign": camp.id, **data.model_dump(mode="json")},
        f"campaign {camp.id}: {data.outcome} ({data.policy or '-'}/{data.action or '-'}) "
        f"on {len(case_ids)} posts",
        BULK_DECIDE,
        data.reason,
    )
    camp.state, camp.approval_id, camp.revision = "pending", approval.id, camp.revision + 1
    events.record(
        session,
        "campaign.decision_requested",
        actor=who.actor,
        subject_type="campaign",
        subject_id=camp.id,
        at=rt.now(),
        reason=data.reason,
        payload={"approval": approval.id, "outcome": data.outcome, "action": data.action},
    )
    return approval


@approvals.executor("campaign_decide")
def _execute(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    who = approvals.requester(session, rt, approval, need=BULK_DECIDE)
    if who is None:
        raise Forbidden("only a staff user may ask for a campaign decision", {"field": "requested_by"})
    payload = dict(approval.payload)
    camp = get(session, int(payload.pop("campaign")))
    data = CampaignDecision.model_validate(payload)
    case_ids = _case_ids(session, camp)
    result = bulk.apply(session, rt, who, _bulk(camp.id, data, case_ids), case_ids, approval)
    camp.state, camp.revision = "decided", camp.revision + 1
    camp.decision = {
        **data.model_dump(mode="json"),
        "approval": approval.id,
        "decided": result["decided"],
        "by": approval.requested_by,
    }
    events.record(
        session,
        "campaign.decided",
        actor=approval.requested_by,
        subject_type="campaign",
        subject_id=camp.id,
        at=rt.now(),
        reason=data.reason,
        payload={"approval": approval.id, "outcome": data.outcome, "decided": result["decided"]},
    )
    return {"campaign": camp.id, **result}


def rejected(session: Session, camp: Campaign) -> None:
    """A pending campaign decision whose approval was rejected or expired opens again."""
    if camp.state == "pending" and camp.approval_id is not None:
        approval = session.get(Approval, camp.approval_id)
        if approval is not None and approval.status in ("rejected", "expired"):
            camp.state = "open"


def pending(session: Session) -> list[Campaign]:
    """Campaigns waiting for a second person."""
    return list(session.scalars(select(Campaign).where(Campaign.state == "pending")))
