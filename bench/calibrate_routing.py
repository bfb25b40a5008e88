#!/usr/bin/env python
"""Case-opening thresholds per policy, calibrated on validation data at the platform's base rate.

Validation rows (never test rows) of every task the exposure benchmark streams are labelled by the
policy-matched ground truth (`bench/ground_truth.yaml`), scored by the text banks and the models as the
live runtime scores them (semantic tier on, as `make demo`), and reweighted so that `--base-rate` of
posts violate. For each live policy's signal rule (policy, scorer), an isotonic fit of "the post
violates" on the rule's score gives the precision a case opened at that score would have on the stream.
One cut-off on that precision, the lowest whose weighted case volume stays within `--budget` of posts,
gives every rule's review threshold: the lowest score whose calibrated precision reaches the cut-off.
Equal marginal precision across rules is what makes the most of a fixed number of cases.

Writes `bench/results/routing_calibration.json` (thresholds, precision and recall on validation at the
base rate, and each rule's score-to-likelihood points) and, with `--likelihood`, the likelihood file the
review queue's priority reads (`src/townsquare/review/likelihood.json`). The thresholds go into policy
versions by hand, through the two-person publishing rule; rerun this after any model retraining.

Run: `PYTHONPATH=src .venv/bin/python bench/calibrate_routing.py [--budget 0.08] [--no-semantic]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

import ground_truth
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.detection.artifacts import read_manifest
from townsquare.detection.training.datasets import load_task
from townsquare.pipeline.score import detect
from townsquare.review.likelihood import fingerprint
from townsquare.runtime import build_runtime

TASKS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")
OUT = Path(__file__).resolve().parent / "results" / "routing_calibration.json"
LIKELIHOOD = PROJECT_ROOT / "src" / "townsquare" / "review" / "likelihood.json"
BATCH = 256


def validation_set(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """Distinct validation texts of every task with a policy-matched label (ambiguous ones left out)."""
    truth = ground_truth.build(data_dir)
    seen: dict[str, bool] = {}
    for task in TASKS:
        for row in load_task(task, data_dir).rows("val"):
            found = truth.policies(row.text)
            if found is not None and row.text not in seen:
                seen[row.text] = bool(found)
    texts = sorted(seen)
    return texts, np.array([seen[t] for t in texts], dtype=bool)


def rule_scores(texts: list[str], semantic: bool) -> dict[tuple[str, str], np.ndarray]:
    """Every live rule's score on every text (0 where the scorer gave no signal)."""
    folder = Path(tempfile.mkdtemp(prefix="townsquare-calibrate-"))
    settings = Settings(
        database_url=f"sqlite:///{folder / 'x.db'}",
        signing_key_path=folder / "k",
        checkpoint_log_path=folder / "c.jsonl",
        models_enabled=True,
        semantic=semantic,
    )
    rt = build_runtime(settings)
    try:
        rules = [(spec.area, s.scorer) for spec in rt.policies.active("live") for s in spec.policy.signals]
        out = {r: np.zeros(len(texts)) for r in rules}
        for lo in range(0, len(texts), BATCH):
            for i, det in enumerate(detect(rt, texts[lo : lo + BATCH]), start=lo):
                for sig in det.signals:
                    for area, scorer in rules:
                        if sig.scorer == scorer and sig.policy in (None, area):
                            out[(area, scorer)][i] = max(out[(area, scorer)][i], sig.score)
        return out
    finally:
        rt.dispose()


def weights(y: np.ndarray, base_rate: float) -> np.ndarray:
    """Row weights that make `base_rate` of the weight violating (each class spread evenly)."""
    return np.where(y, base_rate / max(y.sum(), 1), (1 - base_rate) / max((~y).sum(), 1))


def fit(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> IsotonicRegression:
    """Calibrated precision as a non-decreasing function of the rule's score (rows with a signal)."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    has = scores > 0
    iso.fit(scores[has], y[has].astype(float), sample_weight=w[has])
    return iso


def choose(
    fits: dict[tuple[str, str], IsotonicRegression],
    scores: dict[tuple[str, str], np.ndarray],
    y: np.ndarray,
    w: np.ndarray,
    budget: float,
) -> tuple[float, list[dict[str, float]]]:
    """The lowest precision cut-off whose weighted case volume fits the budget, and the curve."""
    best = np.zeros(len(y))
    for rule, s in scores.items():
        p = np.where(s > 0, fits[rule].predict(s), 0.0)
        best = np.maximum(best, p)
    curve = []
    chosen = 1.0
    for cut in np.round(np.arange(0.05, 0.96, 0.01), 2):
        opened = best >= cut
        share = float(w[opened].sum())
        recall = float(w[opened & y].sum() / w[y].sum())
        precision = float(w[opened & y].sum() / share) if share else 0.0
        curve.append({"cut": float(cut), "cases_share": share, "recall": recall, "precision": precision})
        if share <= budget and cut < chosen:
            chosen = float(cut)
    return chosen, curve


def threshold(iso: IsotonicRegression, s: np.ndarray, cut: float) -> float | None:
    """The lowest observed score whose calibrated precision reaches the cut-off (None: none does)."""
    grid = np.unique(s[s > 0])
    ok = grid[iso.predict(grid) >= cut]
    return round(float(ok.min()), 3) if len(ok) else None


def points(iso: IsotonicRegression) -> list[list[float]]:
    """The isotonic fit's breakpoints (score, likelihood), thinned to distinct likelihoods."""
    xs, ys = iso.X_thresholds_, iso.y_thresholds_
    out: list[list[float]] = []
    for x, v in zip(xs.tolist(), ys.tolist(), strict=True):
        if not out or round(v, 4) != out[-1][1]:
            out.append([round(x, 4), round(v, 4)])
    return out


def write_likelihood(doc: dict[str, Any], path: Path = LIKELIHOOD) -> None:
    """The likelihood file priority reads, stamped with the fingerprint of the models it scored with."""
    like = {
        "base_rate": doc["base_rate"],
        "source": "bench/calibrate_routing.py (bench/results/routing_calibration.json)",
        "models": fingerprint(read_manifest(PROJECT_ROOT / "models").files),
        "semantic": doc["semantic"],
        "rules": {f"{a}|{s}": v["likelihood"] for a, d in doc["rules"].items() for s, v in d.items()},
    }
    path.write_text(json.dumps(like, indent=1) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Score the validation set, calibrate, write the JSON (and the likelihood file)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, default=PROJECT_ROOT.parent / "shared" / "datasets")
    p.add_argument("--base-rate", type=float, default=0.05)
    p.add_argument("--budget", type=float, default=0.08, help="weighted share of posts that may open cases")
    p.add_argument("--no-semantic", dest="semantic", action="store_false")
    p.add_argument("--likelihood", action="store_true", help=f"also write {LIKELIHOOD}")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    texts, y = validation_set(args.data_dir)
    scores = rule_scores(texts, args.semantic)
    w = weights(y, args.base_rate)
    fits = {rule: fit(s, y, w) for rule, s in scores.items() if (s > 0).sum() >= 20}
    scores = {r: s for r, s in scores.items() if r in fits}
    cut, curve = choose(fits, scores, y, w, args.budget)
    rules: dict[str, Any] = defaultdict(dict)
    for (area, scorer), s in sorted(scores.items()):
        t = threshold(fits[(area, scorer)], s, cut)
        fired = s >= t if t is not None else np.zeros(len(y), dtype=bool)
        rules[area][scorer] = {
            "review_threshold": t,
            "cases_share": round(float(w[fired].sum()), 5),
            "precision": round(float(w[fired & y].sum() / w[fired].sum()), 4) if fired.any() else None,
            "recall": round(float(w[fired & y].sum() / w[y].sum()), 4),
            "likelihood": points(fits[(area, scorer)]),
        }
    doc = {
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "split": "validation (every task the exposure benchmark streams); never test",
        "labels": "policy-matched ground truth (bench/ground_truth.yaml)",
        "texts": len(texts),
        "violating_texts": int(y.sum()),
        "base_rate": args.base_rate,
        "budget": args.budget,
        "semantic": args.semantic,
        "precision_cut": cut,
        "at_cut": next(c for c in curve if c["cut"] == cut) if cut < 1 else None,
        "rules": rules,
        "curve": curve,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if args.likelihood:
        write_likelihood(doc)
    print(json.dumps({k: doc[k] for k in ("texts", "violating_texts", "precision_cut", "at_cut")}, indent=1))
    for area, d in rules.items():
        for scorer, v in d.items():
            t, prec, rec = v["review_threshold"], v["precision"], v["recall"]
            print(f"  {area:<24} {scorer:<32} {t!s:>6} prec {prec} rec {rec}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
