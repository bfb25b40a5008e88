"""The hand-written hard cases and per-group false-positive rates.

A hateful case is caught when the hate scorer flags it (threat cases: hate or threat). A
non-hateful case is a false positive when the hate scorer flags it (negated hate, counter-speech,
identity statements and the rest must not be treated as hate). Bars (raised by issue 12):
hateful caught >= 85% (obfuscated >= 70%); neutral or positive identity statements flagged < 5%;
negated hate and counter-speech flagged < 15%.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from townsquare.config import PROJECT_ROOT
from townsquare.detection.classify import Result
from townsquare.detection.lexicon import CATEGORIES, default_lexicon
from townsquare.detection.training import datasets as ds

HARD_CASES = PROJECT_ROOT / "evalsets" / "hard_cases.jsonl"
HATEFUL_TYPES = ("direct_hate", "implicit_hate", "dehumanising", "slur", "threat_group", "obfuscated_hate")
Classify = Callable[[list[str]], list[Result]]


def load_cases(path: Path = HARD_CASES) -> list[dict[str, Any]]:
    """The hard cases, one dict per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _caught(case: dict[str, Any], r: Result) -> bool:
    hate = r.scores["hate"].flagged
    if case["case_type"] in ("threat_group", "threat_individual"):
        return hate or r.scores["threat"].flagged
    return hate


def evaluate_cases(classify: Classify, cases: list[dict[str, Any]]) -> dict[str, Any]:
    """Accuracy per case type, the issue's bars, and each scorer's agreement with `expect`."""
    results = classify([c["text"] for c in cases])
    by_type: dict[str, list[bool]] = defaultdict(list)
    flagged_hate: dict[str, list[bool]] = defaultdict(list)
    expect_ok: dict[str, list[bool]] = defaultdict(list)
    for case, r in zip(cases, results, strict=True):
        t = case["case_type"]
        caught = _caught(case, r)
        correct = caught if case["hateful"] or t == "threat_individual" else not r.scores["hate"].flagged
        by_type[t].append(correct)
        flagged_hate[t].append(r.scores["hate"].flagged)
        for scorer, want in case.get("expect", {}).items():
            expect_ok[scorer].append(r.scores[scorer].flagged == want)
    accuracy = {t: {"n": len(v), "accuracy": round(sum(v) / len(v), 4)} for t, v in sorted(by_type.items())}

    def rate(types: tuple[str, ...], values: dict[str, list[bool]]) -> float:
        vals = [x for t in types for x in values.get(t, [])]
        return round(sum(vals) / len(vals), 4) if vals else float("nan")

    caught_all = rate(HATEFUL_TYPES, by_type)
    bars = [
        _bar("hateful cases caught", caught_all, ">=", 0.85),
        _bar("obfuscated hateful cases caught", rate(("obfuscated_hate",), by_type), ">=", 0.70),
        _bar(
            "neutral/positive identity statements flagged as hate",
            rate(("identity_neutral", "identity_positive"), flagged_hate),
            "<",
            0.05,
        ),
        _bar(
            "negated hate and counter-speech flagged as hate",
            rate(("negated_hate", "counter_speech"), flagged_hate),
            "<",
            0.15,
        ),
    ]
    agreement = {s: round(sum(v) / len(v), 4) for s, v in sorted(expect_ok.items())}
    return {"n": len(cases), "accuracy": accuracy, "bars": bars, "expect_agreement": agreement}


def _bar(name: str, value: float, op: str, target: float) -> dict[str, Any]:
    met = value >= target if op == ">=" else value < target
    return {"name": name, "value": value, "op": op, "target": target, "met": bool(met)}


def group_false_positives(classify: Classify, cases: list[dict[str, Any]], data_dir: Path) -> dict[str, Any]:
    """Per protected group: how often non-hateful text naming the group is flagged as hate.

    Two sources: the non-hateful hard cases about the group, and the non-hate test rows of the hate
    datasets that name the group (found with the identity lexicon).
    """
    lex = default_lexicon()
    task = ds.load_task("hate", data_dir)
    texts = [r.text for p in task.parts for r in p.test if r.label == 0]
    groups: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        for category in {m.category for m in lex.mentions(text)}:
            groups[category].append(text)
    benign_cases = [c for c in cases if not c["hateful"] and c.get("target")]
    out: dict[str, Any] = {}
    for category in CATEGORIES:
        hc = [c["text"] for c in benign_cases if c["target"] == category]
        dt = groups.get(category, [])
        hc_flags = [r.scores["hate"].flagged for r in classify(hc)] if hc else []
        dt_flags = [r.scores["hate"].flagged for r in classify(dt)] if dt else []
        out[category] = {
            "hard_cases_n": len(hc),
            "hard_cases_fpr": round(sum(hc_flags) / len(hc_flags), 4) if hc_flags else None,
            "dataset_n": len(dt),
            "dataset_fpr": round(sum(dt_flags) / len(dt_flags), 4) if dt_flags else None,
        }
    return out
