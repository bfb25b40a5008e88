#!/usr/bin/env python
"""Claim matching that does not flag the truth: paraphrases of known false claims against near-misses.

Sets (evalsets/): `claim_paraphrases.jsonl` (posts that assert a known claim, and a few on-topic posts that
assert none) and `claim_near_misses.jsonl` (true procedures, corrections and fact-checks that quote a
false claim, questions, opinions and news reports, each written beside a claim it resembles). Both are
split into `dev` and `heldout` by a hash of the text (35% held out; `split` in the near-miss file); the
stance cues were written and checked on `dev` only, and `heldout` is the honest figure.

Measured through the classifier's own path (`Classifier.classify`: BM25, the semantic tier when installed,
the stance screen), at the operating thresholds (each method's, fitted on ordinary posts):
- recall@5: the share of paraphrases whose claim is among the five most similar (BM25 and embedding merged
  as the cascade ranks them), before any threshold;
- operating precision and recall on paraphrases + near-misses: a post is flagged as the first claim it
  matches; a paraphrase flagged as its own claim is a true positive; a near-miss, an on-topic negative or a
  paraphrase flagged as another claim is a false positive;
- the same without the stance screen (what the matcher did before), and the share of near-misses the
  misinformation scorer as a whole flags (its classifier head included, which this work does not change).

Run: `.venv/bin/python bench/claims.py [--out PATH] [--fast-only]`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench_common import machine
from townsquare.config import PROJECT_ROOT
from townsquare.detection.classify import Classifier
from townsquare.detection.semantic import load_semantic
from townsquare.detection.training import claims_fit, claims_verify_fit


def rows() -> list[dict[str, Any]]:
    """Paraphrases and near-misses with their split and kind (the team-written stance rows are all dev)."""
    return claims_verify_fit.evaluation_rows()


def operating(classifier: Classifier, data: list[dict[str, Any]], variant: str) -> dict[str, Any]:
    """Precision and recall at the operating thresholds, per split, with false positives by kind.

    variant: `verifier` (the shipped path), `rules` (the rule-based stance screen alone, as before the
    verifier) or `none` (neither: retrieval and its thresholds only).
    """
    original = classifier.claim_model.screen
    semantic = classifier.semantic
    verifier = semantic.verifier if semantic is not None else None
    if variant != "verifier" and semantic is not None:
        semantic.verifier = None
    if variant == "none":
        classifier.claim_model.screen = lambda texts, matches: matches  # type: ignore[method-assign]
    try:
        results = classifier.classify([r["text"] for r in data], ["en"] * len(data))
    finally:
        classifier.claim_model.screen = original  # type: ignore[method-assign]
        if semantic is not None:
            semantic.verifier = verifier
    out: dict[str, Any] = {}
    for split in ("dev", "heldout", "all"):
        tp = fp = pos = 0
        fp_kinds: Counter[str] = Counter()
        flagged_kinds: Counter[str] = Counter()
        totals: Counter[str] = Counter()
        for r, res in zip(data, results, strict=True):
            if split != "all" and r["split"] != split:
                continue
            totals[r["kind"]] += 1
            pos += r["claim_id"] is not None
            misinfo = res.scores["misinformation"]
            hits = misinfo.extra.get("claims", [])
            if misinfo.flagged:
                flagged_kinds[r["kind"]] += 1
            if not hits:
                continue
            if r["claim_id"] is not None and hits[0]["id"] == r["claim_id"]:
                tp += 1
            else:
                fp += 1
                fp_kinds[r["kind"]] += 1
        out[split] = {
            "positives": pos,
            "rows": sum(totals.values()),
            "true_positives": tp,
            "false_positives": fp,
            "recall": round(tp / pos, 4) if pos else None,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "false_positives_by_kind": dict(fp_kinds),
            "misinformation_flagged_share_by_kind": {
                k: round(flagged_kinds[k] / n, 3) for k, n in totals.items()
            },
        }
    return out


def recall_at_5(classifier: Classifier, data: list[dict[str, Any]]) -> dict[str, Any]:
    """Retrieval quality on the paraphrases (BM25 alone, and merged with the embedding when installed)."""
    cm = classifier.claim_model
    paraphrases = [{"text": r["text"], "claim_id": r["claim_id"]} for r in data if r["kind"] == "paraphrase"]
    out = {
        "bm25": claims_fit.evaluate_matching(
            cm.matcher, cm.matcher.similarities, cm.bm25_threshold, paraphrases
        )
    }
    semantic = classifier.semantic
    if semantic is not None:
        t_emb = float(semantic.calibration["claims"]["embedding_threshold"])

        def merged(texts: list[str]) -> Any:
            emb = semantic.encoder.run(texts)[0] @ semantic.claim_vectors.T
            return np.maximum(cm.matcher.similarities(texts) / cm.bm25_threshold, emb / t_emb)

        out["combined"] = claims_fit.evaluate_matching(cm.matcher, merged, 1.0, paraphrases)
    return {
        k: {m: v[m] for m in ("positives", "recall_at_1", "recall_at_5", "mean_reciprocal_rank")}
        for k, v in out.items()
    }


class _Timed:
    """The verifier with a stopwatch: the time spent inside it, and how many posts it read."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.seconds, self.posts = inner, 0.0, 0

    def verify(self, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.inner.verify(*args)
        finally:
            self.seconds += time.perf_counter() - started
            self.posts += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def verifier_summary(classifier: Classifier, data: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The verifier's cross-validated choice (from training) and its extra cost per post it reads."""
    semantic = classifier.semantic
    if semantic is None or semantic.verifier is None:
        return None
    verifier = semantic.verifier
    timed = _Timed(verifier)
    semantic.verifier = timed
    try:
        texts = [r["text"] for r in data]
        started = time.perf_counter()
        classifier.classify(texts, ["en"] * len(texts))
        total = time.perf_counter() - started
    finally:
        semantic.verifier = verifier
    meta = verifier.meta
    training = meta.get("training") or {}
    return {
        "threshold": verifier.threshold,
        "gate": verifier.gate,
        "k": verifier.k,
        "cross_validated_on_dev": meta.get("cross_validated"),
        "training": training,
        # Time inside the verifier (cue regexes, features, one dot product per candidate; the embedding
        # is the cascade's own, computed anyway), per post it read, against the whole classify call.
        "posts_verified": timed.posts,
        "ms_per_verified_post": round(1000 * timed.seconds / max(timed.posts, 1), 3),
        "classify_ms_per_post": round(1000 * total / len(texts), 3),
        # Ordinary posts (benign validation rows) that reach the verifier at all; the rest pay nothing.
        "ordinary_posts_verified_share": round(
            training.get("background_posts_verified", 0) / max(training.get("background_posts", 1), 1), 4
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure and write bench/results/claims.json."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", "-o", type=Path, default=PROJECT_ROOT / "bench" / "results" / "claims.json")
    ap.add_argument("--fast-only", action="store_true", help="without the semantic tier")
    args = ap.parse_args(argv)
    models, claims = PROJECT_ROOT / "models", PROJECT_ROOT / "claims"
    semantic = None if args.fast_only else load_semantic(models)
    classifier = Classifier(models, claims, semantic=semantic)
    data = rows()
    started = time.perf_counter()
    result = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "tiers": "fast" if semantic is None else "fast+semantic",
        "claims_version": classifier.claim_model.version,
        "counts": dict(Counter(f"{r['kind']}/{r['split']}" for r in data)),
        "targets": {"recall_at_5": 0.90, "operating_recall": 0.75, "operating_precision": 0.90},
        "retrieval": recall_at_5(classifier, data),
        "retrieval_heldout": recall_at_5(classifier, [r for r in data if r["split"] == "heldout"]),
        # The shipped path (the claim verifier when the semantic tier is installed, else the stance rules).
        "operating_with_stance": operating(classifier, data, "verifier"),
        "operating_rule_stance": operating(classifier, data, "rules"),
        "operating_without_stance": operating(classifier, data, "none"),
        "verifier": verifier_summary(classifier, data),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    w, r, wo = (result[f"operating_{k}"] for k in ("with_stance", "rule_stance", "without_stance"))
    print(
        f"heldout shipped {w['heldout']['precision']}/{w['heldout']['recall']}, "
        f"rules {r['heldout']['precision']}/{r['heldout']['recall']}, "
        f"none {wo['heldout']['precision']}/{wo['heldout']['recall']} -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
