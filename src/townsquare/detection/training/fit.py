"""Train the fast tier: one shared hashed feature space, one calibrated linear head per scorer.

For each head: logistic regression on the training rows, each dataset weighted equally (times the
head's dataset weight) and its classes balanced; the regularisation C is chosen on validation; a
Platt (sigmoid) calibration is fitted on validation; the operating threshold is the best
dataset-weighted mean F1 on validation and the auto threshold the lowest whose validation precision
has a Wilson 95% lower bound >= 0.95 over >= 50 flagged rows. Test rows are never read here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, vstack
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from townsquare.detection.artifacts import Manifest, read_manifest, save_arrays, write_manifest
from townsquare.detection.fast import load_featurizer
from townsquare.detection.features import N_FEATURES, Featurizer
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.metrics import (
    BASE_RATE,
    auto_threshold,
    auto_threshold_at_base_rate,
    best_f1_threshold,
)

FEATURES_FILE = "fast/features.npz"
Log = Callable[[str], None]


@dataclass(frozen=True)
class HeadSpec:
    """How one fast head is trained."""

    name: str
    task: str
    version: str = "1.0"
    cs: tuple[float, ...] = (2.0, 8.0, 32.0)
    weights: dict[str, float] = field(default_factory=dict)  # dataset -> relative weight (default 1)
    tol: float = 1e-6  # solver tolerance; 1e-4 (scikit-learn's default) where retrained on a busy machine

    @property
    def file(self) -> str:
        """The artifact file of this head, relative to the models directory."""
        return f"fast/{self.name}.npz"


HEADS: dict[str, HeadSpec] = {
    h.name: h
    for h in (
        # The team's own sets are the only ones that cover every protected group and write the policy's
        # line (counter-speech, negation and identity statements are not hate): they count four times;
        # Davidson (hate told apart from merely offensive slurs) twice. C stays at 2, chosen on validation
        # in the earlier runs (a single fit: the training machine is shared).
        HeadSpec(
            "hate",
            "hate",
            version="1.1",
            cs=(2.0,),
            tol=1e-4,
            weights={"team-hate": 4.0, "team-hate-hard": 4.0, "davidson-hate-offensive": 2.0},
        ),
        HeadSpec("abuse", "abuse"),
        HeadSpec("targeted", "targeted", cs=(0.5, 2.0, 8.0)),
        HeadSpec("threat", "threat"),
        # Health misinformation: CONSTRAINT (the bar's set) counts double; everyday posts and the 26-row
        # infodemic test set half, so that neither sets the threshold for the news-claim sets.
        HeadSpec(
            "misinformation",
            "misinformation",
            version="1.1",
            cs=(32.0, 128.0),
            tol=1e-4,
            weights={
                "constraint-covid19-fakenews": 2.0,
                "olid-not-offensive": 0.5,
                "covid19-infodemic-en": 0.5,
            },
        ),
        HeadSpec("scam", "scam"),
        HeadSpec("spam", "spam"),
    )
}


def sample_parts(task: ds.TaskData, per_split: int | None, seed: int = ds.SEED) -> ds.TaskData:
    """A small random sample of every part (for tests and quick runs); None keeps everything."""
    if per_split is None:
        return task
    rng = np.random.default_rng(seed)
    for p in task.parts:
        for split in ("train", "val", "test"):
            rows = getattr(p, split)
            if len(rows) > per_split:
                keep = sorted(rng.choice(len(rows), per_split, replace=False).tolist())
                setattr(p, split, [rows[i] for i in keep])
    return task


def sample_weights(task: ds.TaskData, weights: dict[str, float]) -> np.ndarray:
    """Per-row training weights: datasets weigh as configured, classes balanced within each dataset."""
    out = []
    total = sum(weights.get(p.dataset, 1.0) for p in task.parts)
    for p in task.parts:
        labels = np.array([r.label for r in p.train])
        w = np.zeros(len(labels))
        present = np.unique(labels)
        for c in present:
            mask = labels == c
            w[mask] = weights.get(p.dataset, 1.0) / total / len(present) / mask.sum()
        out.append(w)
    w = np.concatenate(out)
    return w * len(w)  # mean weight 1 keeps C comparable across heads


def fit_features(tasks: list[ds.TaskData], log: Log, n_features: int = N_FEATURES) -> Featurizer:
    """The shared featurizer with idf fitted on every head's training texts (each text once)."""
    texts = sorted({r.text for t in tasks for r in t.rows("train")})
    log(f"features: idf over {len(texts):,} distinct training texts")
    f = Featurizer(n_features)
    f.fit_idf(f.counts(texts))
    return f


@dataclass
class _Val:
    """One dataset's validation rows, featurised."""

    dataset: str
    weight: float
    X: csr_matrix
    y: np.ndarray


def _validation(spec: HeadSpec, task: ds.TaskData, f: Featurizer) -> list[_Val]:
    out = []
    for p in task.parts:
        if p.val:
            X = f.transform([r.text for r in p.val])
            out.append(
                _Val(p.dataset, spec.weights.get(p.dataset, 1.0), X, np.array([r.label for r in p.val]))
            )
    return out


def _mean_f1(vals: list[_Val], probs: list[np.ndarray]) -> tuple[float, float]:
    pairs = [(v.y, p) for v, p in zip(vals, probs, strict=True)]
    return best_f1_threshold(pairs, [v.weight for v in vals])


def fit_binary(
    spec: HeadSpec, task: ds.TaskData, f: Featurizer, log: Log
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train, calibrate and threshold one binary head."""
    X = f.transform([r.text for r in task.rows("train")])
    y = np.array([r.label for r in task.rows("train")])
    w = sample_weights(task, spec.weights)
    vals = _validation(spec, task, f)
    best: tuple[float, float, LogisticRegression] | None = None
    for c in spec.cs:
        model = LogisticRegression(C=c, max_iter=5000, tol=spec.tol).fit(X, y, sample_weight=w)
        _, score = _mean_f1(vals, [model.predict_proba(v.X)[:, 1] for v in vals])
        log(f"  {spec.name}: C={c:g} validation mean F1 {score:.4f}")
        if best is None or score > best[0] + 1e-9:
            best = (score, c, model)
        if len(spec.cs) > 1 and score < best[0] - 0.01:
            break  # past the best C: larger ones only overfit more (saves fits on a loaded machine)
    assert best is not None
    _, c, model = best
    # Platt calibration on the pooled validation rows: the scorer's real mix of datasets.
    margins = [model.decision_function(v.X) for v in vals]
    y_all = np.concatenate([v.y for v in vals])
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(np.concatenate(margins).reshape(-1, 1), y_all)
    a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
    probs = [1.0 / (1.0 + np.exp(-(a * m + b))) for m in margins]
    threshold, val_f1 = _mean_f1(vals, probs)
    auto = auto_threshold(y_all, np.concatenate(probs))
    at_base = auto_threshold_at_base_rate(y_all, np.concatenate(probs), BASE_RATE)
    meta = {
        "kind": "binary",
        "C": c,
        "threshold": threshold,
        "auto_threshold": None if auto is None else round(auto, 6),
        # Validated at the platform's base rate (validation rows reweighted to 5% violating).
        "auto_thresholds": {spec.name: at_base if at_base else {"threshold": None, "base_rate": BASE_RATE}},
        "validation_mean_f1": round(val_f1, 4),
        "calibration": {"method": "platt", "a": a, "b": b},
    }
    arrays = {"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32)}
    return arrays, meta


def fit_multiclass(
    spec: HeadSpec, task: ds.TaskData, f: Featurizer, log: Log
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train one multinomial head (the abuse target), choosing C by validation macro-F1."""
    X = f.transform([r.text for r in task.rows("train")])
    y = np.array([r.label for r in task.rows("train")])
    w = sample_weights(task, spec.weights)
    Xv = vstack([f.transform([r.text for r in p.val]) for p in task.parts]).tocsr()
    yv = np.array([r.label for r in task.rows("val")])
    best: tuple[float, float, LogisticRegression] | None = None
    for c in spec.cs:
        model = LogisticRegression(C=c, max_iter=5000, tol=1e-6).fit(X, y, sample_weight=w)
        score = float(f1_score(yv, model.predict(Xv), average="macro"))
        log(f"  {spec.name}: C={c:g} validation macro-F1 {score:.4f}")
        if best is None or score > best[0] + 1e-9:
            best = (score, c, model)
    assert best is not None
    score, c, model = best
    meta = {"kind": "multiclass", "C": c, "validation_macro_f1": round(score, 4)}
    arrays = {"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32)}
    return arrays, meta


def _head_meta(spec: HeadSpec, task: ds.TaskData, f: Featurizer) -> dict[str, Any]:
    return {
        "name": spec.name,
        "version": spec.version,
        "classes": list(task.parts[0].classes),
        "n_features": f.n_features,
        "datasets": [
            {
                "dataset": p.dataset,
                "split": p.split,
                "counts": p.counts(),
                "dropped_overlap": p.dropped_overlap,
            }
            for p in task.parts
        ],
        "dataset_weights": {p.dataset: spec.weights.get(p.dataset, 1.0) for p in task.parts},
    }


def train(
    data_dir: Path,
    models_dir: Path,
    only: list[str] | None = None,
    sample: int | None = None,
    log: Log = print,
    now: datetime | None = None,
    n_features: int = N_FEATURES,
    extra: dict[str, list[ds.Part]] | None = None,
) -> Manifest:
    """Rebuild the fast tier's artifacts (all heads, or `only` some against the existing features).

    `n_features` (hash buckets) is for quick runs and tests; the committed models use 2^20. `extra`
    adds parts per head (reviewers' decisions, `models retrain`).
    """
    names = only or list(HEADS)
    unknown = sorted(set(names) - set(HEADS))
    if unknown:
        raise KeyError(f"unknown model {', '.join(unknown)}; known: {', '.join(HEADS)}")
    extra = extra or {}
    tasks = {n: sample_parts(ds.load_task(HEADS[n].task, data_dir, extra.get(n)), sample) for n in names}
    files: dict[str, str] = {}
    versions: dict[str, str] = {}
    if only:
        old = read_manifest(models_dir)
        files, versions = dict(old.files), dict(old.versions)
        f = load_featurizer(models_dir, old)
    else:
        f = fit_features(list(tasks.values()), log, n_features)
        assert f.idf is not None
        files[FEATURES_FILE] = save_arrays(
            models_dir / FEATURES_FILE, {"idf": f.idf}, {"n_features": n_features, "sample": sample}
        )
    for name in names:
        spec, task = HEADS[name], tasks[name]
        log(f"training {name} on {len(task.rows('train')):,} rows")
        fit = fit_multiclass if name == "targeted" else fit_binary
        arrays, meta = fit(spec, task, f, log)
        meta.update(_head_meta(spec, task, f))
        meta["sample"] = sample
        files[spec.file] = save_arrays(models_dir / spec.file, _sparse(arrays), meta)
        versions[name] = spec.version
    manifest = Manifest(
        files, versions, (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), {"sample": sample}
    )
    write_manifest(models_dir, manifest)
    return manifest


def _sparse(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Store a head's weights by their non-zero columns (features no training text had stay 0)."""
    coef = arrays["coef"]
    cols = np.flatnonzero(np.any(coef != 0, axis=0)).astype(np.int32)
    return {"cols": cols, "weights": coef[:, cols], "intercept": arrays["intercept"]}
