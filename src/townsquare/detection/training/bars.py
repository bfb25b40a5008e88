"""The detection issue's quality bars, checked against an evaluation (fast tier and cascade)."""

from __future__ import annotations

from typing import Any

# (name, scorer, dataset, metric path inside a binary report, target)
DATASET_BARS: tuple[tuple[str, str, str, tuple[str, ...], float], ...] = (
    ("TweetEval hate macro-F1", "hate", "tweeteval-hate", ("macro_f1",), 0.53),
    ("TweetEval offensive macro-F1", "abuse", "olid", ("macro_f1",), 0.78),
    ("Davidson hate-class F1", "hate", "davidson-hate-offensive", ("per_class", "hate", "f1"), 0.50),
    (
        "CONSTRAINT fake-news F1",
        "misinformation",
        "constraint-covid19-fakenews",
        ("per_class", "fake", "f1"),
        0.93,
    ),
    ("SMS spam F1", "spam", "sms-spam-collection", ("per_class", "spam", "f1"), 0.97),
    ("SMS smishing F1", "scam", "sms-smishing-5971", ("per_class", "smishing", "f1"), 0.90),
)
CLAIM_RECALL_AT_5 = 0.90


def _dig(report: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node)


def _bar(name: str, value: float | None, target: float, tier: str, op: str = ">=") -> dict[str, Any]:
    met = value is not None and (value >= target if op == ">=" else value < target)
    gap = None if value is None else round(value - target, 4)
    return {
        "name": name,
        "tier": tier,
        "value": value,
        "op": op,
        "target": target,
        "met": bool(met),
        "gap": gap,
    }


def dataset_bars(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-dataset bars for the fast tier and, when evaluated, the cascade."""
    out = []
    for name, scorer, dataset, path, target in DATASET_BARS:
        fast = quality["fast"].get(scorer, {}).get("datasets", {}).get(dataset, {}).get("report")
        out.append(_bar(name, _dig(fast, path) if fast else None, target, "fast"))
        cascade = (
            quality.get("cascade", {}).get(scorer, {}).get("datasets", {}).get(dataset, {}).get("cascade")
        )
        if cascade:
            out.append(_bar(name, _dig(cascade, path), target, "cascade"))
    return out


def baseline_bars(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """Every binary scorer against the TF-IDF + LR baseline: mean test macro-F1 over its datasets."""
    out = []
    for scorer, entry in quality["fast"].items():
        rows = [d for d in entry.get("datasets", {}).values() if "report" in d and "baseline" in d]
        if not rows:
            continue
        ours = sum(d["report"]["macro_f1"] for d in rows) / len(rows)
        base = sum(d["baseline"]["macro_f1"] for d in rows) / len(rows)
        bar = _bar(
            f"{scorer} beats the TF-IDF + LR baseline (mean macro-F1)", round(ours, 4), round(base, 4), "fast"
        )
        bar["op"] = ">"
        bar["met"] = ours > base
        out.append(bar)
        cascade = quality.get("cascade", {}).get(scorer)
        if cascade:
            casc = [
                cascade["datasets"][k]["cascade"]["macro_f1"]
                for k, d in entry["datasets"].items()
                if "report" in d and "baseline" in d
            ]
            value = sum(casc) / len(casc)
            b = _bar(
                f"{scorer} beats the TF-IDF + LR baseline (mean macro-F1)",
                round(value, 4),
                round(base, 4),
                "cascade",
            )
            b["op"] = ">"
            b["met"] = value > base
            out.append(b)
    return out


def all_bars(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """Every bar: datasets, baselines, claim recall@5 and the hard cases."""
    bars = dataset_bars(quality) + baseline_bars(quality)
    for tier in ("bm25", "embedding", "combined"):
        recall = quality.get("claims", {}).get(tier, {}).get("recall_at_5")
        if recall is not None:
            bars.append(
                _bar(
                    f"claim matching recall@5 ({tier})",
                    recall,
                    CLAIM_RECALL_AT_5,
                    "fast" if tier == "bm25" else "cascade",
                )
            )
    for tier, key in (("fast", "hard_cases"), ("cascade", "hard_cases_cascade")):
        for b in quality.get(key, {}).get("bars", []):
            bars.append({**_bar(b["name"], b["value"], b["target"], tier, b["op"])})
    return bars
