"""Evaluate the trained scorers on held-out test splits, the hard cases and the claim paraphrases.

The result is one JSON-able dict (written to bench/results/quality.json) from which the model card
is rendered. Test rows are read only here, never during training.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from townsquare.detection.fast import FastTier
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.fit import HEADS, sample_parts
from townsquare.detection.training.metrics import best_f1_threshold, binary_report, multiclass_report

Log = Callable[[str], None]
Scorer = Callable[[list[str]], dict[str, np.ndarray]]


def _part_info(p: ds.Part) -> dict[str, Any]:
    return {
        "title": p.title,
        "license": p.license,
        "research_only": p.research_only,
        "split": p.split,
        "counts": p.counts(),
        "dropped_overlap": p.dropped_overlap,
        "notes": p.notes,
    }


def _labels(rows: list[ds.Example]) -> np.ndarray:
    return np.array([r.label for r in rows], dtype=int)


def baseline(task: ds.TaskData, weights: dict[str, float]) -> Callable[[list[str]], np.ndarray]:
    """A TF-IDF (word 1-2 grams) + logistic-regression baseline on the same training rows."""
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    train = task.rows("train")
    X = vec.fit_transform([r.text for r in train])
    model = LogisticRegression(C=1.0, max_iter=3000, class_weight="balanced").fit(X, _labels(train))

    def predict(texts: list[str]) -> np.ndarray:
        return model.predict_proba(vec.transform(texts))[:, 1]

    return predict


def _baseline_threshold(
    task: ds.TaskData, predict: Callable[[list[str]], np.ndarray], w: dict[str, float]
) -> float:
    parts = [(p, _labels(p.val)) for p in task.parts if len(set(_labels(p.val).tolist())) == 2]
    pairs = [(y, predict([r.text for r in p.val])) for p, y in parts]
    threshold, _ = best_f1_threshold(pairs, [w.get(p.dataset, 1.0) for p, _ in parts])
    return threshold


def evaluate_binary(
    name: str, task: ds.TaskData, score: Scorer, threshold: float, with_baseline: bool, log: Log
) -> dict[str, Any]:
    """Test-split reports per dataset for one binary head (and its baseline)."""
    spec = HEADS[name]
    predict = baseline(task, spec.weights) if with_baseline else None
    b_threshold = _baseline_threshold(task, predict, spec.weights) if predict else None
    out: dict[str, Any] = {}
    for p in task.parts:
        y = _labels(p.test)
        texts = [r.text for r in p.test]
        probs = score(texts)[name]
        entry = {**_part_info(p)}
        if len(set(y.tolist())) == 2:
            entry["report"] = binary_report(y, probs, threshold, p.classes)
        else:  # a negatives-only part: how often ordinary posts are flagged
            entry["flagged_rate"] = round(float(np.mean(probs >= threshold)), 4)
        if predict is not None and b_threshold is not None:
            bp = predict(texts)
            if len(set(y.tolist())) == 2:
                entry["baseline"] = binary_report(y, bp, b_threshold, p.classes)
                entry["baseline"].pop("reliability")
            else:
                entry["baseline_flagged_rate"] = round(float(np.mean(bp >= b_threshold)), 4)
        out[p.dataset] = entry
        log(f"  {name} / {p.dataset}: " + _summary(entry))
    return out


def _summary(entry: dict[str, Any]) -> str:
    if "report" in entry:
        s = f"macro-F1 {entry['report']['macro_f1']:.4f} AUC {entry['report']['roc_auc']:.4f}"
        if "baseline" in entry:
            s += f" (baseline {entry['baseline']['macro_f1']:.4f})"
        return s
    return f"flagged {entry['flagged_rate']:.4f}"


def evaluate_fast(
    models_dir: Path,
    data_dir: Path,
    with_baseline: bool,
    log: Log,
    sample: int | None = None,
    heads: list[str] | None = None,
) -> dict[str, Any]:
    """Every fast head (or only `heads`) on every test split it has."""
    tier = FastTier(models_dir)
    out: dict[str, Any] = {}
    for name, spec in HEADS.items():
        if heads is not None and name not in heads:
            continue
        head = tier.heads[name]
        task = sample_parts(ds.load_task(spec.task, data_dir), sample)
        entry: dict[str, Any] = {
            "version": head.version,
            "threshold": head.threshold,
            "auto_threshold": head.auto_threshold,
            "auto_thresholds": head.meta.get("auto_thresholds"),
            "C": head.meta.get("C"),
            "dataset_weights": head.meta.get("dataset_weights"),
        }
        if head.kind == "binary":
            assert head.threshold is not None
            entry["datasets"] = evaluate_binary(name, task, tier.score, head.threshold, with_baseline, log)
        else:
            entry["datasets"] = {}
            for p in task.parts:
                proba = tier.score([r.text for r in p.test])[name]
                entry["datasets"][p.dataset] = {
                    **_part_info(p),
                    "report": multiclass_report(_labels(p.test), proba, p.classes),
                }
                macro = entry["datasets"][p.dataset]["report"]["macro_f1"]
                log(f"  {name} / {p.dataset}: macro-F1 {macro:.4f}")
        out[name] = entry
    return out


def stamp(now: datetime | None = None) -> str:
    """An ISO timestamp for reports."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def evaluate_cascade(
    models_dir: Path, data_dir: Path, log: Log, sample: int | None = None, heads: list[str] | None = None
) -> dict[str, Any]:
    """The semantic model alone and the cascade on every binary head's (or only `heads`') test splits."""
    from townsquare.detection.semantic import HEADS as SEM_HEADS
    from townsquare.detection.semantic import SemanticTier
    from townsquare.detection.training.semantic_calibrate import cascade_probability

    tier = FastTier(models_dir)
    sem = SemanticTier(models_dir, with_verifier=False)  # the heads only; claims are benched apart
    out: dict[str, Any] = {"version": sem.version}
    for name in SEM_HEADS:
        if heads is not None and name not in heads:
            continue
        head = sem.head(name)
        task = sample_parts(ds.load_task(HEADS[name].task, data_dir), sample)
        entry: dict[str, Any] = {
            "threshold": head["threshold"],
            "auto_threshold": head["auto_threshold"],
            "auto_thresholds": head.get("auto_thresholds"),
            "semantic_threshold": head["semantic_threshold"],
            "datasets": {},
        }
        for p in task.parts:
            y = _labels(p.test)
            texts = [r.text for r in p.test]
            pf = tier.score(texts)[name]
            ps = sem.semantic_probabilities(sem.encoder.run(texts)[1])[name]
            pc = cascade_probability(head, pf, ps)
            d: dict[str, Any] = {"rescored_share": round(float(np.mean(pc != pf)), 4)}
            if len(set(y.tolist())) == 2:
                d["semantic"] = binary_report(y, ps, head["semantic_threshold"], p.classes)
                d["cascade"] = binary_report(y, pc, head["threshold"], p.classes)
                for k in ("semantic", "cascade"):
                    d[k].pop("reliability")
                log(
                    f"  {name} / {p.dataset}: semantic {d['semantic']['macro_f1']:.4f}, "
                    f"cascade {d['cascade']['macro_f1']:.4f} (re-scored {d['rescored_share']:.1%})"
                )
            else:
                d["semantic_flagged_rate"] = round(float(np.mean(ps >= head["semantic_threshold"])), 4)
                d["cascade_flagged_rate"] = round(float(np.mean(pc >= head["threshold"])), 4)
            entry["datasets"][p.dataset] = d
        out[name] = entry
    return out
