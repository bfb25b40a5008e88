"""Train the claim verifier (claims_verify) on dev data only, and choose its threshold by cross-validation.

Training rows: for each post, its top candidate claims (the semantic tier's merged BM25 + embedding
ranking) whose similarity clears the gate; label 1 when the candidate is the claim the post asserts.
- the `dev` part of `evalsets/claim_paraphrases.jsonl` and `evalsets/claim_near_misses.jsonl` (the
  `heldout` part, 35% by a hash of the text, is never read here) and all of
  `evalsets/claim_stance_dev.jsonl` (team-written dev rows for this verifier);
- ordinary posts (claims_fit.background) that come near a claim, as negatives at a lower weight;
- every row again as if its claim had no correction text (a claim published without one), lower weight.

The threshold is the one with the highest out-of-fold recall at precision >= 0.90 on dev, folds grouped
by claim so a fold's claims are unseen in training; the final model is then fitted on all of dev.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.config import PROJECT_ROOT
from townsquare.detection.artifacts import Manifest, read_manifest, save_arrays, write_manifest
from townsquare.detection.claims import ClaimMatch
from townsquare.detection.claims_verify import (
    VERIFIER_FILE,
    Candidate,
    VerifyContext,
    candidate_features,
    design,
    n_scalars,
    semantic_files,
    without_correction,
)
from townsquare.detection.training import claims_fit

EVALSETS = PROJECT_ROOT / "evalsets"
STANCE_DEV = EVALSETS / "claim_stance_dev.jsonl"
HELD_OUT = 0.35
VERSION = "1.0"
# Chosen once on dev by grouped cross-validation (see the model card), not per run.
K, GATE, C, EMB_WEIGHT = 3, 0.8, 1.0, 3.0
BACKGROUND_WEIGHT, NO_CORRECTION_WEIGHT = 0.3, 0.3
TARGET_PRECISION = 0.90
FOLDS = 5
Log = Callable[[str], None]


def split_of(text: str) -> str:
    """The deterministic dev / heldout split of a text (the near-miss file stores the same split)."""
    h = int(hashlib.sha256(f"nm-split:{text}".encode()).hexdigest()[:8], 16) / 16**8
    return "heldout" if h < HELD_OUT else "dev"


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluation_rows() -> list[dict[str, Any]]:
    """Paraphrases and near-misses with split, kind and group (the claim a row is written about)."""
    out = []
    for r in claims_fit.load_paraphrases():
        kind = "paraphrase" if r.get("claim_id") else "on_topic_negative"
        out.append(_row(r["text"], r.get("claim_id"), kind, split_of(r["text"]), r.get("claim_id")))
    for r in _jsonl(EVALSETS / "claim_near_misses.jsonl"):
        out.append(_row(r["text"], None, f"near_miss:{r['kind']}", r["split"], r.get("near_claim")))
    if STANCE_DEV.exists():
        for r in _jsonl(STANCE_DEV):
            cid = r.get("claim_id")
            kind = "paraphrase" if r["kind"] == "paraphrase" else f"near_miss:{r['kind']}"
            out.append(_row(r["text"], cid, kind, "dev", cid or r.get("near_claim"), source="stance_dev"))
    return out


def _row(text: str, cid: str | None, kind: str, split: str, group: str | None, source: str = "") -> dict:
    return {"text": text, "claim_id": cid, "kind": kind, "split": split, "group": group, "source": source}


class _Recorder:
    """Stands in for the verifier inside the semantic tier and keeps each post's candidate features."""

    def __init__(self) -> None:
        self.found: dict[str, list[tuple[Candidate, str]]] = {}

    def verify(
        self,
        text: str,
        emb: np.ndarray,
        logits: np.ndarray,
        p_misinfo: float,
        merged: list[ClaimMatch],
        bm25: list[ClaimMatch],
        ctx: VerifyContext,
    ) -> list[ClaimMatch]:
        cands = candidate_features(text, emb, logits, p_misinfo, merged, bm25, ctx, GATE, K)
        self.found[text] = [(c, merged[c.index].claim.id) for c in cands]
        return merged


def candidates(classifier: Any, texts: Sequence[str]) -> dict[str, list[tuple[Candidate, str]]]:
    """Each text's gated candidates with their features, through the classifier's own cascade."""
    sem = classifier.semantic
    recorder, saved = _Recorder(), sem.verifier
    sem.verifier = recorder
    try:
        for start in range(0, len(texts), 512):
            batch = list(texts[start : start + 512])
            probs, _ = classifier.fast.score_rows(batch)
            matches = classifier.claim_model.match(batch)
            sem.rescore(batch, probs, matches, None, classifier.claim_model.bm25_threshold)
    finally:
        sem.verifier = saved
    return recorder.found


def _table(
    rows: list[dict[str, Any]], found: dict[str, list[tuple[Candidate, str]]], first_row: int = 0
) -> tuple[list[np.ndarray], list[int], list[int], list[str]]:
    x, y, row_of, groups = [], [], [], []
    for n, r in enumerate(rows):
        for cand, cid in found.get(r["text"], []):
            x.append(cand.features)
            y.append(int(cid == r["claim_id"]))
            row_of.append(first_row + n)
            groups.append(r.get("group") or cid)
    return x, y, row_of, groups


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_scal: int) -> dict[str, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    mean = x[:, :n_scal].mean(axis=0)
    scale = x[:, :n_scal].std(axis=0)
    scale[scale < 1e-6] = 1.0
    xa = np.vstack([x, without_correction(x)])
    ya, wa = np.concatenate([y, y]), np.concatenate([w, w * NO_CORRECTION_WEIGHT])
    model = LogisticRegression(C=C, max_iter=5000).fit(
        design(xa, mean, scale, EMB_WEIGHT), ya, sample_weight=wa
    )
    return {
        "coef": model.coef_[0].astype(np.float32),
        "intercept": model.intercept_.astype(np.float32),
        "mean": mean.astype(np.float32),
        "scale": scale.astype(np.float32),
    }


def _predict(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    z = design(x, params["mean"], params["scale"], EMB_WEIGHT) @ params["coef"] + params["intercept"][0]
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def operating_curve(
    p: np.ndarray, y: np.ndarray, row_of: np.ndarray, positives: int, is_dev: np.ndarray
) -> list[dict[str, float]]:
    """Precision and recall on dev rows per threshold; a post counts as its most probable candidate."""
    best: dict[int, int] = {}
    for i, r in enumerate(row_of):
        if r not in best or p[i] > p[best[r]]:
            best[r] = i
    top = np.array(list(best.values()), dtype=int)
    out = []
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        flagged = top[p[top] >= t]
        dev = flagged[is_dev[flagged]]
        tp = int(y[dev].sum())
        fp = len(dev) - tp
        out.append(
            {
                "threshold": float(t),
                "precision": tp / (tp + fp) if tp + fp else 1.0,
                "recall": tp / positives if positives else 0.0,
                "background_flagged": int((~is_dev[flagged]).sum()),
            }
        )
    return out


def choose_threshold(curve: list[dict[str, float]]) -> dict[str, float]:
    """The highest recall at precision >= target (ties: the higher threshold); else the best precision."""
    ok = [c for c in curve if c["precision"] >= TARGET_PRECISION and c["recall"] > 0]
    if ok:
        return max(ok, key=lambda c: (c["recall"], c["threshold"]))
    return max(curve, key=lambda c: (c["precision"], c["threshold"]))


def train_verifier(
    classifier: Any, models_dir: Path, data_dir: Path, sample: int | None, log: Log
) -> dict[str, Any]:
    """Fit on dev + background, choose the threshold by grouped CV, write the artifact and manifest."""
    from sklearn.model_selection import GroupKFold

    dev = [r for r in evaluation_rows() if r["split"] == "dev"]
    background = [_row(t, None, "background", "dev", None) for t in claims_fit.background(data_dir, sample)]
    found = candidates(classifier, [r["text"] for r in dev + background])
    xd, yd, rd, gd = _table(dev, found)
    xb, yb, rb, _ = _table(background, found, first_row=len(dev))
    x, y = np.array(xd + xb), np.array(yd + yb)
    row_of = np.array(rd + rb)
    is_dev = row_of < len(dev)
    w = np.where(is_dev, 1.0, BACKGROUND_WEIGHT)
    # Background posts are spread over the folds; dev posts are grouped by the claim they are about.
    groups = np.array(gd + [f"background-{r % FOLDS}" for r in rb])
    n_scal = n_scalars(len(classifier.semantic.calibration["heads"]))
    oof = np.zeros(len(y))
    for train, test in GroupKFold(FOLDS).split(x, y, groups):
        oof[test] = _predict(_fit(x[train], y[train], w[train], n_scal), x[test])
    positives = sum(r["claim_id"] is not None for r in dev)
    chosen = choose_threshold(operating_curve(oof, y, row_of, positives, is_dev))
    params = _fit(x, y, w, n_scal)
    meta = {
        "version": VERSION,
        "threshold": chosen["threshold"],
        "gate": GATE,
        "k": K,
        "emb_weight": EMB_WEIGHT,
        "C": C,
        "semantic_files": semantic_files(models_dir),
        "cross_validated": {k: round(v, 4) for k, v in chosen.items()}
        | {"folds": FOLDS, "grouped_by": "claim"},
        "training": {
            "dev_posts": len(dev),
            "dev_positives": positives,
            "background_posts": len(background),
            "candidate_rows": len(y),
            "background_rows": int((~is_dev).sum()),
            # Ordinary posts the verifier reads (the rest never reach it): its share of the traffic.
            "background_posts_verified": len(set(rb)),
        },
    }
    digest = save_arrays(models_dir / VERIFIER_FILE, params, meta)
    m = read_manifest(models_dir)
    files = {**m.files, VERIFIER_FILE: digest}
    write_manifest(models_dir, Manifest(files, {**m.versions, "verifier": VERSION}, m.created, m.data))
    log(
        f"claim verifier: threshold {chosen['threshold']:.2f}, cross-validated on dev precision "
        f"{chosen['precision']:.3f} recall {chosen['recall']:.3f}; background flagged "
        f"{chosen['background_flagged']} of {len(background):,}"
    )
    return meta
