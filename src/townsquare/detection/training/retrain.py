"""`townsquare models retrain`: fold reviewers' decisions into training and compare the candidate.

The decisions (`models export-labels` JSONL) are ordered by decision time; the most recent share is held
out and never trained on, the rest joins each taught head's training data as a `reviewer-decisions`
part (90/10 train/validation, stratified, seed 20261121; no test rows). The candidate is trained on a
copy of the live artifacts (only the taught heads change; the semantic calibration is refitted when
the copy has a semantic tier), then the candidate and the live models are measured on

* every taught head's held-out test splits (the public datasets' test rows, never trained on), and
* the held-out recent decisions, at each model's own operating threshold.

A candidate is refused when it misses a quality bar the live model meets, when a taught head's mean
test macro-F1 falls by more than `MAX_DROP`, or when its F1 on the recent decisions falls by more
than `MAX_RECENT_DROP` (over at least `MIN_RECENT` decisions). Test splits are only read to measure.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_score, recall_score

from townsquare.detection.fast import FastTier
from townsquare.detection.training import datasets as ds
from townsquare.detection.training import fit
from townsquare.detection.training.bars import DATASET_BARS, _dig
from townsquare.detection.training.evaluate import evaluate_binary

Log = Callable[[str], None]
MAX_DROP = 0.01
MAX_RECENT_DROP = 0.05
MIN_RECENT = 20
HOLDOUT_SHARE = 0.2
DATASET = "reviewer-decisions"


class RetrainRefused(ValueError):
    """Retraining was refused (no new labels, bad input, or a candidate that fails its bars)."""


@dataclass(frozen=True)
class Decision:
    """One reviewer decision as a labelled example."""

    key: str
    text: str
    label: int
    head: str
    decided_at: str


def read_labels(path: Path) -> list[Decision]:
    """The decisions in an export-labels file that teach a trainable head, oldest first."""
    if not path.exists():
        raise RetrainRefused(
            f"labels file {path} does not exist (write it with `townsquare models export-labels`)"
        )
    out: list[Decision] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label, head = str(row["text"]), int(row["label"]), row.get("head")
        except (ValueError, KeyError, TypeError) as exc:
            raise RetrainRefused(f"{path}:{n} is not an export-labels row ({exc})") from exc
        if label not in (0, 1):
            raise RetrainRefused(f"{path}:{n}: label must be 0 or 1, not {label}")
        if head in fit.HEADS and head != "targeted" and text.strip():
            key = str(row.get("case_id", row.get("post", n)))
            out.append(Decision(f"{key}:{head}", text, label, str(head), str(row.get("decided_at", ""))))
    return sorted(out, key=lambda d: d.decided_at)


def split_recent(rows: list[Decision], share: float = HOLDOUT_SHARE) -> tuple[list[Decision], list[Decision]]:
    """(older rows to train on, the most recent `share` held out); at least one row each when possible."""
    k = int(round(len(rows) * share))
    k = min(max(k, 1 if len(rows) > 1 else 0), len(rows) - 1) if rows else 0
    return rows[: len(rows) - k], rows[len(rows) - k :]


def reviewer_parts(rows: list[Decision]) -> dict[str, list[ds.Part]]:
    """One `reviewer-decisions` part per taught head (90/10 train/validation, no test rows)."""
    by_head: dict[str, list[ds.Example]] = {}
    for d in rows:
        by_head.setdefault(d.head, []).append(ds.Example(d.text, d.label))
    out: dict[str, list[ds.Part]] = {}
    for head, examples in by_head.items():
        examples = ds._clean(examples)
        rng = random.Random(ds.SEED)
        shuffled = examples[:]
        rng.shuffle(shuffled)
        n_val = len(shuffled) // 10
        classes = ("negative", head)
        part = ds.Part(
            DATASET,
            "Reviewers' decisions (export-labels)",
            "this platform's own decisions",
            False,
            "decision time: older rows 90/10 train/val; the most recent held out",
            classes,
            shuffled[n_val:],
            shuffled[:n_val],
            [],
        )
        out[head] = [part]
    return out


def recent_metrics(tier: FastTier, head: str, rows: list[Decision]) -> dict[str, Any]:
    """Precision, recall, F1 and accuracy on held-out decisions at the model's operating threshold."""
    if not rows:
        return {"n": 0}
    y = np.array([d.label for d in rows])
    p = tier.score([d.text for d in rows])[head]
    threshold = tier.heads[head].threshold or 0.5
    pred = (p >= threshold).astype(int)
    return {
        "n": len(rows),
        "positives": int(y.sum()),
        "precision": round(float(precision_score(y, pred, zero_division=0)), 4),
        "recall": round(float(recall_score(y, pred, zero_division=0)), 4),
        "f1": round(float(f1_score(y, pred, zero_division=0)), 4),
        "accuracy": round(float(np.mean(pred == y)), 4),
    }


def test_metrics(tier: FastTier, head: str, data_dir: Path, sample: int | None, log: Log) -> dict[str, Any]:
    """A head's reports on its public datasets' test splits (no baseline)."""
    task = fit.sample_parts(ds.load_task(fit.HEADS[head].task, data_dir), sample)
    threshold = tier.heads[head].threshold
    assert threshold is not None
    return evaluate_binary(head, task, tier.score, threshold, False, log)


def _mean_macro(datasets: dict[str, Any]) -> float | None:
    values = [d["report"]["macro_f1"] for d in datasets.values() if "report" in d]
    return round(sum(values) / len(values), 4) if values else None


def compare(
    current_dir: Path,
    candidate_dir: Path,
    heads: list[str],
    recent: list[Decision],
    data_dir: Path,
    sample: int | None,
    log: Log,
    max_drop: float = MAX_DROP,
) -> dict[str, Any]:
    """The comparison report: per taught head, test splits and recent decisions, and the verdict."""
    cur, cand = FastTier(current_dir), FastTier(candidate_dir)
    report: dict[str, Any] = {"heads": {}, "failures": []}
    for head in heads:
        log(f"comparing {head}: live vs candidate")
        entry: dict[str, Any] = {}
        for name, tier in (("live", cur), ("candidate", cand)):
            tests = test_metrics(tier, head, data_dir, sample, log)
            entry[name] = {
                "version": tier.heads[head].version,
                "threshold": tier.heads[head].threshold,
                "test": {k: v["report"]["macro_f1"] for k, v in tests.items() if "report" in v},
                "test_mean_macro_f1": _mean_macro(tests),
                "bars": {
                    bar: _dig(tests[dataset]["report"], path)
                    for bar, scorer, dataset, path, _ in DATASET_BARS
                    if scorer == head and dataset in tests and "report" in tests[dataset]
                },
                "recent": recent_metrics(tier, head, [d for d in recent if d.head == head]),
            }
        report["heads"][head] = entry
        report["failures"].extend(_failures(head, entry, max_drop))
    report["accepted"] = not report["failures"]
    return report


def _failures(head: str, entry: dict[str, Any], max_drop: float = MAX_DROP) -> list[str]:
    live, cand = entry["live"], entry["candidate"]
    out = []
    targets = {bar: target for bar, scorer, _, _, target in DATASET_BARS if scorer == head}
    for bar, target in targets.items():
        lv, cv = live["bars"].get(bar), cand["bars"].get(bar)
        if lv is not None and cv is not None and lv >= target > cv:
            out.append(f"{head}: {bar} {cv:.4f} misses its bar {target} (live meets it with {lv:.4f})")
    lm, cm = live["test_mean_macro_f1"], cand["test_mean_macro_f1"]
    if lm is not None and cm is not None and cm < lm - max_drop:
        out.append(f"{head}: mean test macro-F1 {cm:.4f} is more than {max_drop} below live {lm:.4f}")
    lr, cr = live["recent"], cand["recent"]
    if lr.get("n", 0) >= MIN_RECENT and cr["f1"] < lr["f1"] - MAX_RECENT_DROP:
        out.append(f"{head}: F1 on {cr['n']} recent decisions {cr['f1']:.4f} is below live {lr['f1']:.4f}")
    return out


def markdown(report: dict[str, Any]) -> str:
    """The comparison report as Markdown (written next to the JSON)."""
    lines = [
        f"# Model retraining: candidate vs live ({report.get('created', '')})",
        "",
        f"Labels: {report.get('labels_file', '')}: {report.get('trained_rows', 0)} decisions folded into "
        f"training, {report.get('recent_rows', 0)} most recent held out.",
        "",
        "| head | measure | live | candidate |",
        "|---|---|---|---|",
    ]
    for head, e in report["heads"].items():
        lv, cv = e["live"], e["candidate"]
        lines.append(f"| {head} | version | {lv['version']} | {cv['version']} |")
        lines.append(
            f"| {head} | mean test macro-F1 | {lv['test_mean_macro_f1']} | {cv['test_mean_macro_f1']} |"
        )
        for ds_name, value in lv["test"].items():
            lines.append(f"| {head} | {ds_name} test macro-F1 | {value} | {cv['test'].get(ds_name)} |")
        for key in ("precision", "recall", "f1"):
            if lv["recent"].get("n"):
                lines.append(
                    f"| {head} | recent decisions {key} (n={lv['recent']['n']}) | "
                    f"{lv['recent'][key]} | {cv['recent'][key]} |"
                )
    lines.append("")
    verdict = "accepted (registered as shadow)" if report["accepted"] else "refused"
    lines.append(f"Verdict: **{verdict}**.")
    lines.extend(f"- {f}" for f in report["failures"])
    return "\n".join(lines) + "\n"


def stamp(now: datetime | None = None) -> str:
    """An ISO timestamp."""
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
