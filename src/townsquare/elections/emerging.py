"""Emerging claims: clusters of similar posts that look like election misinformation but match no known claim.

Posts recorded as `unmatched` (an election policy flagged them, or the misinformation model did, and no
claim in the library matched) are grouped by similarity: cosine of the semantic tier's embeddings when it
is installed (paraphrases of one narrative land together), else MinHash Jaccard of word shingles (copies
with light edits). A group of at least `MIN_SIZE` posts is an emerging claim a fact-checker can add to the
library in one step; a post that has since matched a claim leaves its group.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.content.models import Post
from townsquare.elections.models import ElectionSignal
from townsquare.eventlog import events
from townsquare.review.duplicates import jaccard, signature
from townsquare.runtime import Runtime

MIN_SIZE = 3
COSINE = 0.75
JACCARD = 0.5
LIMIT = 2_000


def _rows(session: Session, since: datetime) -> list[tuple[int, str, str | None, datetime]]:
    unmatched = (
        select(Post.id, Post.text, ElectionSignal.jurisdiction, ElectionSignal.created_at)
        .join(Post, Post.id == ElectionSignal.post_id)
        .where(
            ElectionSignal.kind == "unmatched", ElectionSignal.created_at >= since, Post.status != "deleted"
        )
        .order_by(ElectionSignal.id.desc())
        .limit(LIMIT)
    )
    matched = set(
        session.scalars(
            select(ElectionSignal.post_id).where(
                ElectionSignal.kind == "claim", ElectionSignal.created_at >= since
            )
        )
    )
    seen: set[int] = set()
    out = []
    for pid, text, place, at in session.execute(unmatched):
        if pid in matched or pid in seen:
            continue
        seen.add(pid)
        out.append((pid, text, place, at))
    return out


def _pairs(rt: Runtime, texts: list[str]) -> tuple[list[tuple[int, int]], np.ndarray | None]:
    semantic = rt.classifier.semantic if rt.classifier is not None else None
    if semantic is not None:
        emb = semantic.encoder.run(texts)[0]
        sims = emb @ emb.T
        i, j = np.nonzero(np.triu(sims >= COSINE, k=1))
        return list(zip(i.tolist(), j.tolist(), strict=True)), sims
    sigs = [signature(t) for t in texts]
    pairs = [
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if sigs[i] and sigs[j] and jaccard(sigs[i], sigs[j]) >= JACCARD  # type: ignore[arg-type]
    ]
    return pairs, None


def clusters(session: Session, rt: Runtime, since: datetime) -> list[dict[str, Any]]:
    """The emerging claims since a time, biggest first."""
    rows = _rows(session, since)
    if len(rows) < MIN_SIZE:
        return []
    texts = [r[1] for r in rows]
    pairs, sims = _pairs(rt, texts)
    parent = list(range(len(rows)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in pairs:
        parent[find(i)] = find(j)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(len(rows)):
        groups[find(i)].append(i)
    out = []
    for members in groups.values():
        if len(members) < MIN_SIZE:
            continue
        central = members[0]
        if sims is not None:
            central = max(members, key=lambda m: float(sims[m, members].sum()))
        ids = sorted(rows[m][0] for m in members)
        out.append(
            {
                "key": f"em-{ids[0]}",
                "size": len(members),
                "text": texts[central],
                "post_ids": ids,
                "samples": [texts[m] for m in members[:5]],
                "jurisdictions": sorted({str(rows[m][2]) for m in members if rows[m][2]}),
                "first_seen": events.iso(min(rows[m][3] for m in members)),
                "last_seen": events.iso(max(rows[m][3] for m in members)),
            }
        )
    return sorted(out, key=lambda c: (-c["size"], c["key"]))
