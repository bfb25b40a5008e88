"""Learn the claim-matching thresholds from ordinary posts, and evaluate on the paraphrase set.

Threshold: the similarity that at most 0.5% of ordinary posts (the benign validation rows of the
abuse, misinformation and spam datasets) reach against any claim, so a match is rare unless the
post really repeats a known claim. The paraphrases in evalsets/ are test data and never used here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.config import PROJECT_ROOT
from townsquare.detection.claims import ClaimMatcher
from townsquare.detection.training import datasets as ds

PARAPHRASES = PROJECT_ROOT / "evalsets" / "claim_paraphrases.jsonl"
FALSE_MATCH_RATE = 0.005
BACKGROUND_TASKS = ("abuse", "misinformation", "spam")
Similarity = Callable[[list[str]], np.ndarray]  # texts -> (n_texts, n_claims)


def background(data_dir: Path, sample: int | None = None) -> list[str]:
    """Ordinary posts: benign validation rows of the abuse, misinformation and spam datasets."""
    texts: list[str] = []
    for task in BACKGROUND_TASKS:
        for p in ds.load_task(task, data_dir).parts:
            rows = [r.text for r in p.val if r.label == 0]
            texts.extend(rows[:sample] if sample else rows)
    return texts


def fit_threshold(similarity: Similarity, texts: list[str], floor: float = 0.2) -> float:
    """The (0.01-rounded) similarity that at most FALSE_MATCH_RATE of `texts` reach."""
    best = similarity(texts).max(axis=1)
    q = float(np.quantile(best, 1 - FALSE_MATCH_RATE))
    return max(floor, float(np.ceil(q * 100) / 100))


def load_paraphrases(path: Path = PARAPHRASES) -> list[dict[str, Any]]:
    """The paraphrase test set (claim_id null = a post that asserts no known claim)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate_matching(
    matcher: ClaimMatcher, similarity: Similarity, threshold: float, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """recall@1/@5 over positives; match precision/recall at the threshold; negatives' false-match rate."""
    ids = [c.id for c in matcher.claims]
    sims = similarity([r["text"] for r in rows])
    pos = [(i, r) for i, r in enumerate(rows) if r.get("claim_id") in ids]
    neg = [i for i, r in enumerate(rows) if r.get("claim_id") is None]
    ranks = []
    flagged_right = flagged_wrong = 0
    for i, r in pos:
        order = np.argsort(-sims[i], kind="stable")
        ranks.append(int(np.flatnonzero(order == ids.index(r["claim_id"]))[0]) + 1)
        if sims[i, order[0]] >= threshold:
            if ids[order[0]] == r["claim_id"]:
                flagged_right += 1
            else:
                flagged_wrong += 1
    neg_flagged = sum(int(sims[i].max() >= threshold) for i in neg)
    ranks_arr = np.array(ranks)
    n = len(pos)
    flagged = flagged_right + flagged_wrong + neg_flagged
    return {
        "positives": n,
        "negatives": len(neg),
        "skipped_unknown_claim": len(rows) - n - len(neg),
        "recall_at_1": round(float(np.mean(ranks_arr <= 1)), 4) if n else None,
        "recall_at_5": round(float(np.mean(ranks_arr <= 5)), 4) if n else None,
        "mean_reciprocal_rank": round(float(np.mean(1.0 / ranks_arr)), 4) if n else None,
        "threshold": threshold,
        "flagged_with_right_claim": round(flagged_right / n, 4) if n else None,
        "match_precision": round(flagged_right / flagged, 4) if flagged else None,
        "negatives_flagged": round(neg_flagged / len(neg), 4) if neg else None,
    }
