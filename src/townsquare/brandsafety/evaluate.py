"""Quality of the suitability labels on the team's labelled set (training/brand_safety.jsonl).

A post's labels are judged per category: a category is a positive when the post carries it at any risk.
Per category: precision, recall and F1; macro-F1 over the twelve categories; the precision of floor
labels (a floor label is right when the post truly carries that category at the floor); the share of
safe posts (no true label: safe posts and hard negatives) given a high or floor label; and, among the
categories found, how often the risk is exactly right.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from townsquare.brandsafety import taxonomy as tx
from townsquare.config import PROJECT_ROOT

DATA_FILE = PROJECT_ROOT / "training" / "brand_safety.jsonl"
Predict = Callable[[Sequence[str]], list[list[dict[str, Any]]]]


def load(path: Path = DATA_FILE, split: str | None = None) -> list[dict[str, Any]]:
    """Labelled rows, optionally one split (train or test)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r.get("split") == split]


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(rows: Sequence[dict[str, Any]], predicted: Sequence[Iterable[dict[str, Any]]]) -> dict[str, Any]:
    """Every figure of the model card for these rows and predictions."""
    per: dict[str, dict[str, int]] = {c: {"tp": 0, "fp": 0, "fn": 0} for c in tx.CATEGORY_IDS}
    floor = {"tp": 0, "fp": 0}
    exact = found = safe = safe_severe = 0
    errors: list[dict[str, Any]] = []
    for row, pred in zip(rows, predicted, strict=True):
        truth = {lab["category"]: lab["risk"] for lab in row["labels"]}
        got = {lab["category"]: lab["risk"] for lab in pred}
        for c in tx.CATEGORY_IDS:
            key = "tp" if c in truth and c in got else "fn" if c in truth else "fp" if c in got else None
            if key:
                per[c][key] += 1
        for c, risk in got.items():
            if risk == tx.FLOOR:
                floor["tp" if truth.get(c) == tx.FLOOR else "fp"] += 1
            if c in truth:
                found += 1
                exact += truth[c] == risk
        if not truth:
            safe += 1
            safe_severe += any(r in (tx.FLOOR, tx.HIGH) for r in got.values())
        if truth != got:
            errors.append({"id": row["id"], "text": row["text"], "truth": truth, "got": got})
    cats: dict[str, dict[str, Any]] = {}
    f1s: list[float] = []
    for c, n in per.items():
        p = n["tp"] / (n["tp"] + n["fp"]) if n["tp"] + n["fp"] else 0.0
        r = n["tp"] / (n["tp"] + n["fn"]) if n["tp"] + n["fn"] else 0.0
        cats[c] = {"name": tx.category_name(c), "precision": p, "recall": r, "f1": _f1(p, r), **n}
        f1s.append(_f1(p, r))
    return {
        "rows": len(rows),
        "categories": cats,
        "macro_f1": sum(f1s) / len(f1s),
        "floor_precision": floor["tp"] / (floor["tp"] + floor["fp"]) if floor["tp"] + floor["fp"] else 1.0,
        "floor_labels": floor["tp"] + floor["fp"],
        "safe_posts": safe,
        "safe_high_or_floor": safe_severe / safe if safe else 0.0,
        "risk_exact": exact / found if found else 0.0,
        "errors": errors,
    }
