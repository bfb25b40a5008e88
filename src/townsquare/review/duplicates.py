"""Near-duplicate posts: MinHash signatures (datasketch) with locality-sensitive bands kept in the database.

A post's normalised words are shingled in threes; datasketch computes a 64-permutation MinHash. The
signature is cut into 16 bands of 4 rows; each band is stored (`case_bands`), so any process can find
earlier open cases sharing a band, and the candidates are confirmed by their estimated Jaccard
similarity (≥ 0.7). A copy-paste wave then shares one `dup_group`: the id of its first case.
"""

from __future__ import annotations

import hashlib

import numpy as np
from datasketch import MinHash
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from townsquare.db import loaded as held
from townsquare.detection.features import model_text
from townsquare.detection.normalize import tokens
from townsquare.review.models import OPEN_STATES, Case, CaseBand

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SIMILAR = 0.7
SEED = 20261121


def signature(text: str) -> list[int] | None:
    """The MinHash signature of a text's word 3-shingles (None for texts under three words)."""
    words = tokens(model_text(text))
    if len(words) < 3:
        return None
    m = MinHash(num_perm=NUM_PERM, seed=SEED)
    m.update_batch([" ".join(words[i : i + 3]).encode() for i in range(len(words) - 2)])
    return [int(v) for v in m.hashvalues]


def bands(sig: list[int]) -> list[str]:
    """The band keys of a signature."""
    out = []
    for b in range(BANDS):
        chunk = ",".join(str(v) for v in sig[b * ROWS : (b + 1) * ROWS])
        out.append(f"{b}:{hashlib.blake2b(chunk.encode(), digest_size=12).hexdigest()}")
    return out


def jaccard(a: list[int], b: list[int]) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(np.array(a) == np.array(b)))


def assign_group(session: Session, case: Case, text: str) -> None:
    """Give a new post case its signature and bands, and join the group of a near-duplicate open case."""
    sig = signature(text)
    if sig is None:
        return
    keys = bands(sig)
    case.signature = sig
    # Only the columns the match needs: loading whole cases (JSON columns and all) costs more than the query.
    candidates = session.execute(
        select(Case.id, Case.signature, Case.dup_group)
        .where(
            # A subquery, not DISTINCT over a join: PostgreSQL cannot compare the JSON columns of cases.
            Case.id.in_(select(CaseBand.case_id).where(CaseBand.band.in_(keys))),
            Case.id != case.id,
            Case.state.in_(OPEN_STATES),
        )
        .order_by(Case.id)
    ).all()
    for other_id, other_sig, other_group in candidates:
        # A case opened earlier in this transaction may hold a signature or group not yet flushed.
        mine = held(session, Case, other_id)
        if mine is not None:
            other_sig, other_group = mine.signature, mine.dup_group
        if other_sig and jaccard(sig, other_sig) >= SIMILAR:
            case.dup_group = other_group or str(other_id)
            if other_group is None:
                first = session.get(Case, other_id)
                assert first is not None
                first.dup_group = str(other_id)
            break
    # One multi-row INSERT, not 16 ORM objects through the unit of work (this runs on the ingest path).
    session.execute(insert(CaseBand), [{"case_id": case.id, "band": k} for k in keys])
