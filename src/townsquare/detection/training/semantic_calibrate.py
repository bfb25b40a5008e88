"""Fit the semantic tier's calibration and the cascade on validation rows (never test rows).

Per head: a Platt calibration of the semantic logit; a logistic combination of fast and semantic
log-odds for re-scored posts; the re-scoring band (BAND log-odds around the fast threshold); and the
cascade's operating and auto thresholds, chosen exactly as the fast tier's are. For claims: the
cosine similarity that at most 0.5% of ordinary posts reach against any claim.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from townsquare.detection.fast import FastTier
from townsquare.detection.semantic import HEADS, Encoder, _logit, _sigmoid
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.claims_fit import FALSE_MATCH_RATE
from townsquare.detection.training.fit import HEADS as FAST_HEADS
from townsquare.detection.training.metrics import (
    BASE_RATE,
    auto_threshold,
    auto_threshold_at_base_rate,
    best_f1_threshold,
)

BAND = 2.5  # log-odds either side of the fast threshold (a factor of about 12 in the odds)
CANDIDATE_FLOOR = 0.5  # share of the BM25 threshold from which a post is also embedded for claims
Log = Callable[[str], None]


def _platt(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    m = LogisticRegression(C=1e6, max_iter=1000).fit(x.reshape(-1, 1), y)
    return float(m.coef_[0, 0]), float(m.intercept_[0])


def cascade_probability(
    head: dict[str, Any], p_fast: np.ndarray, p_sem: np.ndarray, high_reach: np.ndarray | None = None
) -> np.ndarray:
    """The cascade's probability: combined where re-scored, fast elsewhere."""
    wf, ws, c = head["combine"]
    combined = _sigmoid(wf * _logit(p_fast) + ws * _logit(p_sem) + c)
    near = np.abs(_logit(p_fast) - _logit(np.array(head["fast_threshold"]))) <= head["band"]
    if high_reach is not None:
        near |= high_reach
    return np.where(near, combined, p_fast)


def _head(name: str, j: int, task: ds.TaskData, fast: FastTier, encoder: Encoder, log: Log) -> dict[str, Any]:
    weights = FAST_HEADS[name].weights
    parts = [p for p in task.parts if p.val]
    ys = [np.array([r.label for r in p.val]) for p in parts]
    pf = [fast.score([r.text for r in p.val])[name] for p in parts]
    lg = [encoder.run([r.text for r in p.val])[1][:, j] for p in parts]
    y_all, pf_all, lg_all = np.concatenate(ys), np.concatenate(pf), np.concatenate(lg)
    a, b = _platt(lg_all, y_all)
    ps = [_sigmoid(a * x + b) for x in lg]
    ps_all = np.concatenate(ps)
    comb = LogisticRegression(C=1e6, max_iter=1000).fit(
        np.column_stack([_logit(pf_all), _logit(ps_all)]), y_all
    )
    head: dict[str, Any] = {
        "platt": [a, b],
        "combine": [float(comb.coef_[0, 0]), float(comb.coef_[0, 1]), float(comb.intercept_[0])],
        "band": BAND,
        "fast_threshold": fast.heads[name].threshold,
    }
    w = [weights.get(p.dataset, 1.0) for p in parts]
    casc = [cascade_probability(head, pf[i], ps[i]) for i in range(len(parts))]
    head["threshold"], f1 = best_f1_threshold(list(zip(ys, casc, strict=True)), w)
    auto = auto_threshold(y_all, np.concatenate(casc))
    head["auto_threshold"] = None if auto is None else round(auto, 6)
    at_base = auto_threshold_at_base_rate(y_all, np.concatenate(casc), BASE_RATE)
    head["auto_thresholds"] = {name: at_base or {"threshold": None, "base_rate": BASE_RATE}}
    head["semantic_threshold"], sem_f1 = best_f1_threshold(list(zip(ys, ps, strict=True)), w)
    near = np.abs(_logit(pf_all) - _logit(np.array(head["fast_threshold"]))) <= BAND
    head["validation"] = {
        "cascade_mean_f1": round(f1, 4),
        "semantic_mean_f1": round(sem_f1, 4),
        "rescored_share": round(float(near.mean()), 4),
    }
    log(f"  {name}: cascade validation F1 {f1:.4f} (semantic {sem_f1:.4f}), re-scores {near.mean():.1%}")
    return head


def calibrate(
    tasks: dict[str, ds.TaskData],
    fast: FastTier,
    encoder: Encoder,
    claim_texts: list[str],
    background: list[str],
    log: Log,
) -> dict[str, Any]:
    """The calibration document for models/semantic/calibration.json (without config)."""
    heads = {name: _head(name, j, tasks[name], fast, encoder, log) for j, name in enumerate(HEADS)}
    claims = encoder.run(claim_texts)[0]
    bg = encoder.run(background)[0]
    best = (bg @ claims.T).max(axis=1)
    threshold = max(0.5, float(np.ceil(np.quantile(best, 1 - FALSE_MATCH_RATE) * 100) / 100))
    log(f"  claims: embedding threshold {threshold:.2f} over {len(background):,} ordinary posts")
    return {
        "heads": heads,
        "claims": {
            "embedding_threshold": threshold,
            "candidate_floor": CANDIDATE_FLOOR,
            "background": len(background),
        },
    }
