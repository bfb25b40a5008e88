"""Quality measures for the model card: per-class precision/recall/F1, ROC-AUC, calibration, thresholds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

AUTO_PRECISION = 0.95
AUTO_MIN_FLAGGED = 50
WILSON_Z = 1.959963984540054  # two-sided 95%


def wilson_lower(successes: int, n: int, z: float = WILSON_Z) -> float:
    """Lower bound of the Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0
    p = successes / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - margin) / denom


def wilson_interval(successes: int, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval (lower, upper)."""
    if n == 0:
        return 0.0, 1.0
    lo = wilson_lower(successes, n, z)
    hi = 1 - wilson_lower(n - successes, n, z)
    return lo, hi


def auto_threshold(y: np.ndarray, p: np.ndarray) -> float | None:
    """The lowest threshold whose flagged set has Wilson-95% precision >= 0.95 over >= 50 examples.

    Candidates are the distinct scores themselves (flagging is `score >= threshold`); None when no
    threshold qualifies, and then the scorer never acts alone.
    """
    order = np.argsort(-p, kind="stable")
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys == 1)
    best: float | None = None
    i = 0
    n = len(ps)
    while i < n:
        j = i
        while j + 1 < n and ps[j + 1] == ps[i]:
            j += 1  # ties flag together
        flagged = j + 1
        if flagged >= AUTO_MIN_FLAGGED and wilson_lower(int(tp[j]), flagged) >= AUTO_PRECISION:
            best = float(ps[i])
        i = j + 1
    return best


def macro_f1_by_threshold(y: np.ndarray, p: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Macro-F1 (both classes) of `p >= t` against binary `y` for every t in `grid`, at once.

    The same figures as sklearn's `f1_score(y, p >= t, average="macro", zero_division=0)`, computed
    from the confusion counts of all thresholds together instead of one call per threshold.
    """
    truth = np.asarray(y).astype(bool)
    flagged = np.asarray(p)[None, :] >= np.asarray(grid)[:, None]
    tp = (flagged & truth).sum(axis=1)
    pred_pos = flagged.sum(axis=1)
    true_pos = int(truth.sum())
    tn = (len(truth) - true_pos) - (pred_pos - tp)
    pred_neg = len(truth) - pred_pos
    true_neg = len(truth) - true_pos

    def f1(hits: np.ndarray, predicted: np.ndarray, actual: int) -> np.ndarray:
        denom = (actual + predicted).astype(float)
        return np.divide(2.0 * hits, denom, out=np.zeros(len(denom)), where=denom > 0)

    return (f1(tn, pred_neg, true_neg) + f1(tp, pred_pos, true_pos)) / 2


def best_f1_threshold(
    parts: Sequence[tuple[np.ndarray, np.ndarray]], weights: Sequence[float] | None = None
) -> tuple[float, float]:
    """The threshold with the best weighted mean macro-F1 over (y, p) validation sets.

    Each dataset counts by its weight (equally by default), so a large dataset cannot set the
    operating point for all the others; macro-F1 (both classes) keeps a dataset that is mostly
    positive from pulling the threshold down to "flag everything". A set with one class only
    (ordinary posts, all negative) counts by its accuracy, so flagging everyday posts costs.
    Returns (threshold, mean score).
    """
    grid = np.round(np.arange(0.02, 0.985, 0.01), 2)
    w = np.ones(len(parts)) if weights is None else np.asarray(weights, dtype=float)
    scores = np.zeros(len(grid))
    for (y, p), wi in zip(parts, w, strict=True):
        if len(np.unique(y)) == 2:
            scores += wi * macro_f1_by_threshold(y, p, grid)
        else:  # a one-class set (ordinary posts, all negative): the share it gets right
            scores += wi * np.array([float(np.mean((p >= t) == y)) for t in grid])
    scores /= max(float(w.sum()), 1e-12)
    i = int(np.argmax(scores))
    return float(grid[i]), float(scores[i])


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Calibration table: for each probability bin, count, mean predicted and observed positive rate."""
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1], right=False), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        out.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "n": n,
                "mean_predicted": round(float(p[mask].mean()), 4) if n else None,
                "observed": round(float(y[mask].mean()), 4) if n else None,
            }
        )
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE: the count-weighted mean gap between predicted and observed rates over the bins."""
    total = len(y)
    ece = 0.0
    for row in reliability(y, p, bins):
        if row["n"]:
            ece += row["n"] / total * abs(row["mean_predicted"] - row["observed"])
    return round(ece, 4)


def binary_report(y: np.ndarray, p: np.ndarray, threshold: float, classes: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1, macro-F1, ROC-AUC and calibration at an operating threshold."""
    pred = (p >= threshold).astype(int)
    prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=[0, 1], zero_division=0)
    per_class = {
        classes[i]: {
            "precision": round(float(prec[i]), 4),
            "recall": round(float(rec[i]), 4),
            "f1": round(float(f1[i]), 4),
            "support": int(sup[i]),
        }
        for i in range(2)
    }
    auc = roc_auc_score(y, p) if len(set(y.tolist())) == 2 else float("nan")
    return {
        "threshold": threshold,
        "n": len(y),
        "per_class": per_class,
        "macro_f1": round(float(np.mean(f1)), 4),
        "roc_auc": round(float(auc), 4),
        "ece": expected_calibration_error(y, p),
        "reliability": reliability(y, p),
    }


def multiclass_report(y: np.ndarray, proba: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1, macro-F1 and one-vs-rest ROC-AUC for a multi-class head."""
    pred = proba.argmax(axis=1)
    labels = list(range(len(classes)))
    prec, rec, f1, sup = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    try:
        auc = roc_auc_score(y, proba, multi_class="ovr", labels=labels)
    except ValueError:
        auc = float("nan")
    return {
        "n": len(y),
        "per_class": {
            c: {
                "precision": round(float(prec[i]), 4),
                "recall": round(float(rec[i]), 4),
                "f1": round(float(f1[i]), 4),
                "support": int(sup[i]),
            }
            for i, c in enumerate(classes)
        },
        "macro_f1": round(float(np.mean(f1)), 4),
        "roc_auc": round(float(auc), 4),
    }


BASE_RATE = 0.05  # the platform's stated share of violating posts (issue 12)


def base_rate_weights(y: np.ndarray, base_rate: float = BASE_RATE) -> np.ndarray:
    """Row weights that make positives `base_rate` of the total weight (mean weight 1).

    Validation sets hold far more harmful rows than a stream where 5% of posts violate; reweighting
    them to the stream's prevalence gives the precision an automatic action would have there.
    """
    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return np.ones(len(y))
    w = np.where(pos, base_rate / n_pos, (1 - base_rate) / n_neg)
    return w * len(y)


def auto_threshold_at_base_rate(
    y: np.ndarray, p: np.ndarray, base_rate: float = BASE_RATE
) -> dict[str, Any] | None:
    """The lowest threshold whose precision at `base_rate` has a Wilson 95% lower bound >= 0.95.

    Validation rows are reweighted so that positives are `base_rate` of the weight; the flagged set's
    weighted precision is bounded with the Wilson interval over its effective (Kish) sample size
    `(sum w)^2 / sum w^2`, and at least AUTO_MIN_FLAGGED rows must be flagged. None when no threshold
    qualifies (the scorer then never acts alone).
    """
    w = base_rate_weights(y, base_rate)
    order = np.argsort(-p, kind="stable")
    ys, ps, ws = y[order], p[order], w[order]
    tp_w = np.cumsum(ws * (ys == 1))
    all_w = np.cumsum(ws)
    sq_w = np.cumsum(ws * ws)
    best: dict[str, Any] | None = None
    i, n = 0, len(ps)
    while i < n:
        j = i
        while j + 1 < n and ps[j + 1] == ps[i]:
            j += 1
        flagged = j + 1
        precision = float(tp_w[j] / all_w[j])
        n_eff = float(all_w[j] ** 2 / sq_w[j])
        lower = _wilson_lower_float(precision, n_eff)
        if flagged >= AUTO_MIN_FLAGGED and lower >= AUTO_PRECISION:
            best = {
                "threshold": round(float(ps[i]), 6),
                "base_rate": base_rate,
                "precision": round(precision, 4),
                "precision_lower_bound": round(lower, 4),
                "flagged_rows": flagged,
                "effective_n": round(n_eff, 1),
                "recall": round(float(np.mean(ps[ys == 1] >= ps[i])) if (ys == 1).any() else 0.0, 4),
            }
        i = j + 1
    return best


def _wilson_lower_float(p: float, n: float, z: float = WILSON_Z) -> float:
    """Wilson lower bound for a proportion `p` observed over a (possibly fractional) sample of `n`."""
    if n <= 0:
        return 0.0
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    return (centre - margin) / denom
