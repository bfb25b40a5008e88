"""Adding a claim to the known-false-claims library from Townsquare: proposal, two-person publish, re-score.

The library's base is the files in `claims/`; claims added here are stored rows (`claim_entries`). A
fact-checker proposes a claim (with the fact-check that rates it: a claim without a source is refused),
which opens an approval; a second holder of `claims:publish` approves it, the claim goes live as the next
library version (event `claims.published`), every process rebuilds its claim matcher at its next request,
and the recent posts that looked like misinformation but matched no known claim are scored again.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import CLAIMS_EDIT, CLAIMS_PUBLISH
from townsquare.access.service import Principal
from townsquare.api_types import BodyId
from townsquare.detection.claims import TOPIC_POLICY, VERDICTS, Claim, ClaimMatcher, load_claims
from townsquare.elections import repository as repo
from townsquare.elections.models import ClaimEntry, ElectionSignal
from townsquare.errors import Conflict, Forbidden, NotFound
from townsquare.eventlog import events
from townsquare.runtime import Runtime

RESCORE_LIMIT = 500
_PREFIX = {
    "election_procedures": "ep",
    "election_results": "er",
    "health_vaccines": "hv",
    "health_covid": "hc",
    "health_general": "hg",
}


class ClaimProposal(BaseModel):
    """A claim to add: the claim as its spreaders state it, and the published fact-check that rates it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=20, max_length=400)
    source: str = Field(max_length=500, description="https:// URL of the published fact-check (required)")
    verdict: Literal["false", "misleading", "unproven"] = "false"
    topic: Literal[tuple(TOPIC_POLICY)] = "election_results"  # type: ignore[valid-type]
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{2,100}$")
    cluster: str | None = Field(default=None, max_length=64, description="The emerging cluster it came from")
    post_ids: list[BodyId] = Field(default_factory=list, max_length=200)
    reason: str = Field(min_length=1, max_length=2_000)

    @field_validator("source")
    @classmethod
    def _source(cls, value: str) -> str:
        if not value.startswith("https://") or len(value) < 12 or any(c.isspace() for c in value):
            raise ValueError("a claim needs the https:// URL of the fact-check that rates it")
        return value

    @field_validator("text")
    @classmethod
    def _words(cls, value: str) -> str:
        if len(value.split()) < 5:
            raise ValueError("state the claim in a sentence of at least five words")
        return value.strip()


assert set(VERDICTS) == {"false", "misleading", "unproven"}


def _slug(data: ClaimProposal) -> str:
    if data.id:
        return data.id
    words = re.findall(r"[a-z0-9]+", data.text.lower())[:8]
    return f"{_PREFIX[data.topic]}-{'-'.join(words)}"[:100]


def _known_ids(session: Session, rt: Runtime) -> set[str]:
    files = {c.id for c in load_claims(rt.settings.claims_dir)}
    stored = {e.claim_id for e in repo.claim_entries(session) if e.state in ("proposed", "live")}
    return files | stored


def propose(
    session: Session, rt: Runtime, who: Principal, data: ClaimProposal
) -> tuple[ClaimEntry, Approval]:
    """Store a proposed claim and open the approval that publishes it (a second person decides)."""
    who.need(CLAIMS_EDIT)
    claim_id = _slug(data)
    if claim_id in _known_ids(session, rt):
        raise Conflict(f"claim {claim_id} is already in the library", {"field": "id"})
    now = rt.now()
    entry = ClaimEntry(
        claim_id=claim_id,
        text=data.text,
        verdict=data.verdict,
        source=data.source,
        topic=data.topic,
        language=data.language,
        state="proposed",
        proposed_by=who.actor,
        proposed_at=now,
        from_cluster={"cluster": data.cluster, "post_ids": data.post_ids}
        if data.cluster or data.post_ids
        else None,
    )
    session.add(entry)
    session.flush([entry])
    payload = {"entry": entry.id, "claim_id": claim_id}
    approval = approvals.request_approval(
        session,
        rt,
        who,
        "claim_publish",
        payload,
        f"add claim {claim_id} to the library",
        CLAIMS_PUBLISH,
        data.reason,
    )
    entry.approval_id = approval.id
    events.record(
        session,
        "claims.proposed",
        actor=who.actor,
        subject_type="claim",
        subject_id=claim_id,
        at=now,
        reason=data.reason,
        payload={
            "text": data.text,
            "source": data.source,
            "verdict": data.verdict,
            "topic": data.topic,
            "approval": approval.id,
            "cluster": data.cluster,
        },
    )
    return entry, approval


@approvals.executor("claim_publish")
def _publish(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    entry = session.get(ClaimEntry, int(approval.payload["entry"]))
    if entry is None:
        raise NotFound("the proposed claim is gone", {"field": "entry"})
    if entry.state != "proposed":
        raise Conflict(f"claim {entry.claim_id} is {entry.state}", {"field": "entry"})
    if approvals.requester(session, rt, approval, need=CLAIMS_EDIT) is None:
        raise Forbidden("only a fact-checker may propose a claim", {"field": "requested_by"})
    now = rt.now()
    entry.state, entry.published_at = "live", now
    entry.library_version = repo.library_version(session) + 1
    session.flush([entry])
    events.record(
        session,
        "claims.published",
        actor=approval.requested_by,
        subject_type="claim",
        subject_id=entry.claim_id,
        at=now,
        reason=approval.reason,
        payload={"library_version": entry.library_version, "approval": approval.id, "source": entry.source},
    )
    apply(session, rt, entry.library_version)
    entry.rescored = rescore(session, rt, entry)
    return {"claim_id": entry.claim_id, "library_version": entry.library_version, "rescored": entry.rescored}


def library(session: Session, rt: Runtime) -> list[Claim]:
    """The whole library in force: the files' claims and the live stored ones."""
    stored = [
        Claim(e.claim_id, e.text, e.verdict, e.source, e.topic, e.language)
        for e in repo.claim_entries(session, "live")
    ]
    return [*load_claims(rt.settings.claims_dir), *stored]


def apply(session: Session, rt: Runtime, version: int) -> None:
    """Give this process's classifier the library of `version` (a copy: the loaded one is shared)."""
    clf = rt.classifier
    if clf is None or version == 0 or getattr(clf, "library_version", 0) == version:
        return
    matcher = ClaimMatcher(library(session, rt))
    new = copy.copy(clf)
    base = clf.claim_model
    new.claims = matcher
    new.claim_model = replace(base, matcher=matcher, version=f"{base.version.split('+lib')[0]}+lib{version}")
    if clf.semantic is not None:
        new.semantic = copy.copy(clf.semantic)
        new.semantic.attach_claims(matcher.claims)
    new.library_version = version  # type: ignore[attr-defined]
    rt.classifier = new


def rescore(session: Session, rt: Runtime, entry: ClaimEntry) -> int:
    """Score again the posts of the claim's cluster and recent unmatched election posts; how many."""
    from townsquare.content import repository as content_repo
    from townsquare.content.models import Post
    from townsquare.enforcement import service as enforcement
    from townsquare.pipeline.decide import decide_post
    from townsquare.pipeline.score import Reach

    if rt.classifier is None:
        return 0
    ids = set((entry.from_cluster or {}).get("post_ids", []))
    recent = session.scalars(
        select(ElectionSignal.post_id)
        .where(ElectionSignal.kind == "unmatched")
        .order_by(ElectionSignal.id.desc())
        .limit(RESCORE_LIMIT)
    )
    ids |= set(recent)
    posts = list(session.scalars(select(Post).where(Post.id.in_(ids), Post.status != "deleted")))[
        :RESCORE_LIMIT
    ]
    now = rt.now()
    strikes = enforcement.active_strikes(session, {p.author_id for p in posts}, now)
    done = 0
    for post in posts:
        views, velocity = content_repo.reach(session, post.id, now)
        decide_post(
            session,
            rt,
            post,
            strikes.get(post.author_id, {}),
            Reach(views=views, velocity=velocity),
            trigger=f"claims_library:{entry.library_version}",
        )
        done += 1
    return done


def entry_view(e: ClaimEntry) -> dict[str, Any]:
    """A stored claim and where it stands."""
    return {
        "id": e.claim_id,
        "text": e.text,
        "verdict": e.verdict,
        "source": e.source,
        "topic": e.topic,
        "language": e.language,
        "state": e.state,
        "library_version": e.library_version,
        "proposed_by": e.proposed_by,
        "approval_id": e.approval_id,
        "rescored": e.rescored,
        "proposed_at": events.iso(e.proposed_at),
        "published_at": events.iso(e.published_at) if e.published_at else None,
    }
