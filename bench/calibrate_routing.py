#!/usr/bin/env python
"""Case-opening thresholds per policy, calibrated on validation data at the platform's base rate.

Validation rows (never test rows, nor a validation text that is another streamed task's test row) of
every task the exposure benchmark streams are labelled by the policy-matched ground truth
(`bench/ground_truth.yaml`), scored by the text banks and the models as the live runtime scores them
(semantic tier on, as `make demo`), and reweighted so that `--base-rate` of posts violate. For each
live policy's signal rule (policy, scorer), an isotonic fit of "the post violates" on the rule's score
gives the precision a case opened at that score would have on the stream.
One cut-off on that precision, the lowest whose weighted case volume stays within `--budget` of posts,
gives every rule's review threshold: the lowest score whose calibrated precision reaches the cut-off.
Equal marginal precision across rules is what makes the most of a fixed number of cases.

With `--floor F` the cut-off is a documented floor on expected harm instead of a budget: a rule opens a
case from the lowest score where severity weight × calibrated precision reaches F (the weights priority
uses: low 1, medium 2, high 3, critical 5), so a critical policy opens cases at a lower likelihood than a
low-severity one. Each fitted rule also gets `auto_at_base_rate`: the lowest score whose precision on
this pooled, policy-matched validation set at the base rate has a Wilson 95% lower bound >= 0.95 over
>= 50 flagged rows (`metrics.auto_threshold_at_base_rate`), a check of the per-head validation the
training code records (which sees only the head's own task). `--scores PATH` caches the scores.
`live` in the output gives the validation case volume, precision and recall of the thresholds in the
live policies as loaded, for comparison.

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
from townsquare.detection.training.datasets import TaskData, load_task
from townsquare.detection.training.metrics import auto_threshold_at_base_rate
from townsquare.pipeline.score import detect
from townsquare.review.likelihood import fingerprint
from townsquare.review.priority import SEVERITY_WEIGHT
from townsquare.runtime import build_runtime

TASKS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")
OUT = Path(__file__).resolve().parent / "results" / "routing_calibration.json"
LIKELIHOOD = PROJECT_ROOT / "src" / "townsquare" / "review" / "likelihood.json"
BATCH = 256


def validation_set(data_dir: Path) -> tuple[list[str], np.ndarray]:
    """Distinct validation texts of every task with a policy-matched label (ambiguous ones left out).

    A dataset split separately for two tasks (Davidson for hate and abuse, the SMS sets for scam and
    spam, each stratified on its own label) can put a text in one task's validation split and another's
    test split; the exposure stream draws from every task's test split, so such texts are left out.
    """
    truth = ground_truth.build(data_dir)
    tasks = [load_task(task, data_dir) for task in TASKS]
    test = test_texts(tasks)
    seen: dict[str, bool] = {}
    for data in tasks:
        for row in data.rows("val"):
            found = truth.policies(row.text)
            if found is not None and row.text not in seen and row.text.strip() not in test:
                seen[row.text] = bool(found)
    texts = sorted(seen)
    return texts, np.array([seen[t] for t in texts], dtype=bool)


def test_texts(tasks: Sequence[TaskData]) -> set[str]:
    """Every test row's text (stripped) of the given tasks: never calibrated on."""
    return {row.text.strip() for data in tasks for row in data.rows("test")}


Rule = tuple[str, str]


def rule_scores(
    texts: list[str], semantic: bool
) -> tuple[dict[Rule, np.ndarray], dict[Rule, float], dict[str, float]]:
    """Every live rule's score on every text (0 where the scorer gave no signal), the live review
    thresholds and each live policy's severity weight."""
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
        live = list(rt.policies.active("live"))
        rules = [(spec.area, s.scorer) for spec in live for s in spec.policy.signals]
        thresholds = {(spec.area, s.scorer): s.review_threshold for spec in live for s in spec.policy.signals}
        severity = {spec.area: SEVERITY_WEIGHT.get(spec.policy.severity, 2.0) for spec in live}
        out = {r: np.zeros(len(texts)) for r in rules}
        for lo in range(0, len(texts), BATCH):
            for i, det in enumerate(detect(rt, texts[lo : lo + BATCH]), start=lo):
                for sig in det.signals:
                    for area, scorer in rules:
                        if sig.scorer == scorer and sig.policy in (None, area):
                            out[(area, scorer)][i] = max(out[(area, scorer)][i], sig.score)
        return out, thresholds, severity
    finally:
        rt.dispose()


def cached_scores(
    path: Path | None, texts: list[str], semantic: bool
) -> tuple[dict[Rule, np.ndarray], dict[Rule, float], dict[str, float]]:
    """`rule_scores`, read from or written to `path` (an .npz) when given."""
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta["texts"] == len(texts) and meta["semantic"] == semantic:
                scores = {tuple(k.split("|", 1)): z[k] for k in z.files if k != "meta"}
                live = {tuple(k.split("|", 1)): v for k, v in meta["live"].items()}
                return scores, live, meta["severity"]  # type: ignore[return-value]
    scores, live, severity = rule_scores(texts, semantic)
    if path is not None:
        meta = {
            "texts": len(texts),
            "semantic": semantic,
            "live": {f"{a}|{s}": t for (a, s), t in live.items()},
            "severity": severity,
        }
        np.savez(path, meta=np.array(json.dumps(meta)), **{f"{a}|{s}": v for (a, s), v in scores.items()})
    return scores, live, severity


def weights(y: np.ndarray, base_rate: float) -> np.ndarray:
    """Row weights that make `base_rate` of the weight violating (each class spread evenly)."""
    return np.where(y, base_rate / max(y.sum(), 1), (1 - base_rate) / max((~y).sum(), 1))


def fit(scores: np.ndarray, y: np.ndarray, w: np.ndarray) -> IsotonicRegression:
    """Calibrated precision as a non-decreasing function of the rule's score (rows with a signal)."""
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    has = scores > 0
    iso.fit(scores[has], y[has].astype(float), sample_weight=w[has])
    return iso


def opened_by(scores: dict[Rule, np.ndarray], thresholds: dict[Rule, float | None], n: int) -> np.ndarray:
    """Which texts open a case: any rule's score at or above its threshold."""
    opened = np.zeros(n, dtype=bool)
    for rule, s in scores.items():
        t = thresholds.get(rule)
        if t is not None:
            opened |= (s > 0) & (s >= t)
    return opened


def volume(opened: np.ndarray, y: np.ndarray, w: np.ndarray) -> dict[str, float]:
    """Weighted case volume, precision and recall of a set of opened texts."""
    share = float(w[opened].sum())
    return {
        "cases_share": round(share, 5),
        "precision": round(float(w[opened & y].sum() / share), 4) if share else 0.0,
        "recall": round(float(w[opened & y].sum() / w[y].sum()), 4),
    }


def choose(
    fits: dict[Rule, IsotonicRegression],
    scores: dict[Rule, np.ndarray],
    y: np.ndarray,
    w: np.ndarray,
    budget: float,
    severity: dict[str, float] | None = None,
) -> tuple[float, list[dict[str, float]]]:
    """The lowest cut-off whose weighted case volume fits the budget, and the curve. With `severity`,
    the cut-off is on expected harm (severity weight × calibrated precision), else on precision."""
    best = np.zeros(len(y))
    for rule, s in scores.items():
        p = np.where(s > 0, fits[rule].predict(s), 0.0) * (severity or {}).get(rule[0], 1.0)
        best = np.maximum(best, p)
    curve = []
    chosen = 1.0
    grid = np.arange(0.05, 0.96, 0.01) if severity is None else np.arange(0.1, 3.01, 0.05)
    for cut in np.round(grid, 2):
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
    p.add_argument(
        "--floor",
        type=float,
        help="expected-harm floor (severity weight x calibrated precision) instead of --budget",
    )
    p.add_argument("--likelihood", action="store_true", help=f"also write {LIKELIHOOD}")
    p.add_argument("--scores", type=Path, help="cache of the validation scores (.npz), reused when present")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    texts, y = validation_set(args.data_dir)
    all_scores, live, severity = cached_scores(args.scores, texts, args.semantic)
    w = weights(y, args.base_rate)
    fits = {rule: fit(s, y, w) for rule, s in all_scores.items() if (s > 0).sum() >= 20}
    scores = {r: s for r, s in all_scores.items() if r in fits}
    if args.floor is None:
        cut, curve = choose(fits, scores, y, w, args.budget)
    else:
        cut, curve = args.floor, choose(fits, scores, y, w, args.budget, severity)[1]
    rules: dict[str, Any] = defaultdict(dict)
    for (area, scorer), s in sorted(scores.items()):
        need = cut if args.floor is None else min(cut / severity[area], 1.0)
        t = threshold(fits[(area, scorer)], s, need)
        fired = s >= t if t is not None else np.zeros(len(y), dtype=bool)
        rules[area][scorer] = {
            "review_threshold": t,
            "live_review_threshold": live.get((area, scorer)),
            "precision_needed": round(need, 4),
            "cases_share": round(float(w[fired].sum()), 5),
            "precision": round(float(w[fired & y].sum() / w[fired].sum()), 4) if fired.any() else None,
            "recall": round(float(w[fired & y].sum() / w[y].sum()), 4),
            "auto_at_base_rate": auto_threshold_at_base_rate(y.astype(int), s, args.base_rate),
            "likelihood": points(fits[(area, scorer)]),
        }
    chosen = {(a, s): v["review_threshold"] for a, d in rules.items() for s, v in d.items()}
    unfitted = {r: t for r, t in live.items() if r not in fits}  # too few hits: the live threshold stays
    doc = {
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "split": "validation (every task the exposure benchmark streams); never test",
        "labels": "policy-matched ground truth (bench/ground_truth.yaml)",
        "texts": len(texts),
        "violating_texts": int(y.sum()),
        "base_rate": args.base_rate,
        "budget": args.budget,
        "semantic": args.semantic,
        "mode": "budget" if args.floor is None else "floor",
        "floor": args.floor,
        "severity_weights": severity,
        "precision_cut": cut,
        "at_cut": next((c for c in curve if c["cut"] == cut), None) if cut < 1 else None,
        "chosen": volume(opened_by(all_scores, {**unfitted, **chosen}, len(y)), y, w),
        "live": volume(opened_by(all_scores, live, len(y)), y, w),
        "unfitted_rules": sorted(f"{a}|{s}" for a, s in unfitted),
        "rules": rules,
        "curve": curve,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    if args.likelihood:
        write_likelihood(doc)
    keys = ("texts", "violating_texts", "mode", "precision_cut", "at_cut", "chosen", "live")
    print(json.dumps({k: doc[k] for k in keys}, indent=1))
    for area, d in rules.items():
        for scorer, v in d.items():
            t, prec, rec = v["review_threshold"], v["precision"], v["recall"]
            auto = (v["auto_at_base_rate"] or {}).get("threshold")
            print(f"  {area:<24} {scorer:<32} {t!s:>6} prec {prec} rec {rec} auto {auto}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
