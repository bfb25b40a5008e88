"""Human decisions as labelled examples for the next training run (`townsquare models export-labels`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content.models import Post, PostVersion
from townsquare.eventlog import events
from townsquare.review.models import Case, CaseDecision

# The scorer a policy's decisions teach (None: no trained head for that policy yet).
POLICY_HEAD = {
    "hate_speech": "hate",
    "harassment_threats": "threat",
    "violent_extremism": "threat",
    "election_misinformation": "misinformation",
    "health_misinformation": "misinformation",
    "scams_fraud": "scam",
    "spam": "spam",
}


def labelled(session: Session, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """One example per human decision on a post: the text decided, the outcome and the policy."""
    q = (
        select(CaseDecision, Case, Post)
        .join(Case, Case.id == CaseDecision.case_id)
        .join(Post, Post.id == Case.post_id)
        .order_by(CaseDecision.id)
    )
    if since is not None:
        q = q.where(CaseDecision.decided_at >= since)
    for decision, case, post in session.execute(q):
        version = session.scalar(
            select(PostVersion.text).where(
                PostVersion.post_id == post.id, PostVersion.version == case.post_version
            )
        )
        violation = decision.outcome == "violation"
        yield {
            "post": post.platform_id,
            "text": version if version is not None else post.text,
            "language": post.language,
            "label": int(violation),
            "policy": decision.policy if violation else case.policy,
            "head": POLICY_HEAD.get(decision.policy or case.policy or ""),
            "action": decision.action,
            "case_kind": case.kind,
            "case_id": case.id,
            "decided_at": events.iso(decision.decided_at),
        }


def write_jsonl(session: Session, out: TextIO, since: datetime | None = None) -> int:
    """Write the examples as JSON lines; how many."""
    n = 0
    for row in labelled(session, since):
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n
