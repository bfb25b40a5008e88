"""Near-duplicate posts: MinHash signatures (datasketch) with locality-sensitive bands kept in the database.

A post's normalised words are shingled in threes; datasketch computes a 64-permutation MinHash. The
signature is cut into 16 bands of 4 rows; each band is stored (`case_bands`), so any process can find
earlier open cases sharing a band, and the candidates are confirmed by their estimated Jaccard
similarity (≥ 0.7). A copy-paste wave then shares one `dup_group`: the id of its first case.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
from datasketch import MinHash
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare import bulkrows
from townsquare.db import loaded
from townsquare.detection.features import model_text
from townsquare.detection.normalize import tokens
from townsquare.review.models import OPEN_STATES, Case, CaseBand

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SIMILAR = 0.7
SEED = 20261121
_KEYS_PER_QUERY = 2000  # bound parameters per band query (SQLite allows 32,766)


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


def assign_groups(session: Session, new: list[tuple[Case, str]]) -> None:
    """Signatures, bands and groups for new post cases (in opening order): one band query, one INSERT.

    A case joins the group of the lowest-id open case sharing a band whose signature is similar
    enough, which may be one opened earlier in the same list; a case without a group then starts one.
    """
    todo = [(case, sig, bands(sig)) for case, text in new if (sig := signature(text)) is not None]
    if not todo:
        return
    # Open cases sharing any band: case id -> (signature, group), and band -> case ids.
    known: dict[int, tuple[list[int] | None, str | None]] = {}
    by_band: dict[str, set[int]] = defaultdict(set)
    keys = sorted({k for _, _, ks in todo for k in ks})
    for lo in range(0, len(keys), _KEYS_PER_QUERY):
        rows = session.execute(
            select(CaseBand.band, Case.id, Case.signature, Case.dup_group)
            .join(Case, Case.id == CaseBand.case_id)
            .where(CaseBand.band.in_(keys[lo : lo + _KEYS_PER_QUERY]), Case.state.in_(OPEN_STATES))
        ).all()
        for band, case_id, sig, group in rows:
            by_band[band].add(case_id)
            # A case opened earlier in this transaction may hold a signature or group not yet flushed.
            mine = loaded(session, Case, case_id)
            known[case_id] = (mine.signature, mine.dup_group) if mine is not None else (sig, group)
    for case, sig, ks in todo:
        for other_id in sorted({i for k in ks for i in by_band.get(k, ())} - {case.id}):
            other_sig, other_group = known[other_id]
            if other_sig and jaccard(sig, other_sig) >= SIMILAR:
                case.dup_group = other_group or str(other_id)
                if other_group is None:
                    first = session.get(Case, other_id)
                    assert first is not None
                    first.dup_group = str(other_id)
                    known[other_id] = (other_sig, first.dup_group)
                break
        case.signature = sig
        known[case.id] = (sig, case.dup_group)
        for k in ks:
            by_band[k].add(case.id)
    # Bulk rows (COPY on PostgreSQL), not ORM objects through the unit of work: the ingest path.
    bulkrows.insert_rows(
        session, CaseBand, [{"case_id": case.id, "band": k} for case, _, ks in todo for k in ks]
    )
