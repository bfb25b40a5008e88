"""Does a post assert the known claim it resembles? A learnt verifier on top of claim retrieval.

Retrieval (BM25 and embeddings) finds what a post is *about*; a correction quoting "Dominion switched
votes", a true procedure ("every provisional ballot is checked and counted") and a news report on the
lawsuit are about the claim as much as the lie is. The verifier reads, for each of the post's best
candidate claims:

- how close the post is to the claim (BM25 and cosine, relative to their matching thresholds), and how
  close it is to the claim's *correction* (the fact-check's finding, `correction` in claims/*.yaml): a
  post nearer the truth than the lie is not the lie;
- the post's embedding and its difference from the claim's (the fine-tuned semantic encoder), and the
  semantic tier's own head logits (e.g. its misinformation head);
- stance cues (claims_stance): debunk vocabulary, denial openings, questions, negation that flips the
  claim's polarity, attribution to courts or studies, reported speech ("my aunt says ...").

A logistic regression over these, trained on the team-written dev rows of `evalsets/` and on ordinary
posts that come near a claim (`townsquare models train --only verifier`), gives the probability that the
post asserts the claim; the operating threshold is chosen by cross-validation on dev grouped by claim.
It runs only inside the semantic tier, only for posts with a candidate claim (the cascade already embeds
them), so the fast path pays nothing; without the semantic tier the rule-based stance screen decides.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection import claims_stance as cs
from townsquare.detection.artifacts import ArtifactError, read_manifest, sha256_file
from townsquare.detection.claims import ClaimMatch
from townsquare.detection.normalize import tokens

VERIFIER_FILE = "semantic/claims_verifier.npz"
REBUILD = "townsquare models train --only verifier"
SEMANTIC_INPUTS = ("semantic/model.onnx", "semantic/calibration.json")
# Reported speech and hearsay: the post relays what someone else says (often to question or refute it).
_ATTRIBUTION = re.compile(
    r"\b(says?|said|claims?|claiming|claimed|rumou?rs?|viral|going around|circulating|posts?|meme|video|"
    r"supposedly|allegedly|they say|people say|heard|told me|keeps? (saying|sharing|posting)|shar(ed|ing))\b",
    re.IGNORECASE,
)
SCALARS = (
    "key",
    "key_minus_top",
    "is_top",
    "bm25",
    "cosine_claim",
    "cosine_correction",
    "correction_minus_claim",
    "has_correction",
    "refute_cues",
    "denial_opening",
    "question",
    "any_question_mark",
    "polarity_flip",
    "report_cues",
    "post_negated",
    "claim_negated",
    "attribution_cues",
    "quotes",
    "log_words",
)
# Scalars that describe the claim's correction, reset as if the claim had none (see `without_correction`).
CORRECTION_SLICE = slice(SCALARS.index("cosine_correction"), SCALARS.index("has_correction") + 1)


def cue_features(text: str, claim_text: str) -> list[float]:
    """The stance cues of a post toward a claim (counts capped at 3)."""
    claim_words = frozenset(tokens(claim_text))
    sentences = [x.strip() for x in cs._SENTENCES.findall(text) if x.strip()]
    return [
        min(len(cs._cues(cs._REFUTE_RE, text, claim_words)), 3),
        float(bool(cs._DENIAL_OPENING.match(text))),
        float(cs._is_question(sentences)),
        float(any(x.endswith("?") for x in sentences)),
        float(cs._polarity_flip(sentences, claim_text)),
        min(len(cs._cues(cs._REPORT_RE, text, claim_words)), 3),
        float(cs._negated(text)),
        float(cs._negated(claim_text)),
        min(len(_ATTRIBUTION.findall(text)), 3),
        float('"' in text or "\u201c" in text),
        math.log1p(len(text.split())),
    ]


@dataclass(frozen=True)
class Candidate:
    """One (post, candidate claim) pair the verifier scores."""

    index: int  # position in the post's merged match list
    claim_index: int  # position in the library
    features: np.ndarray


def candidate_features(
    text: str,
    emb: np.ndarray,
    logits: np.ndarray,
    p_misinfo: float,
    merged: list[ClaimMatch],
    bm25: list[ClaimMatch],
    ctx: VerifyContext,
    gate: float,
    k: int,
) -> list[Candidate]:
    """Feature rows for the post's top-k candidates that clear the gate (none: nothing to verify)."""
    keys = [ctx.key(m) for m in merged]
    bm25_by_id = {m.claim.id: m.similarity for m in bm25 if m.method == "bm25"}
    out = []
    for pos, m in enumerate(merged[:k]):
        if keys[pos] < gate:
            continue
        j = ctx.index[m.claim.id]
        cos_claim = float(emb @ ctx.claim_vectors[j]) / ctx.t_emb
        has = bool(m.claim.correction)
        cos_corr = float(emb @ ctx.correction_vectors[j]) / ctx.t_emb if has else 0.0
        scal = [
            keys[pos],
            keys[pos] - keys[0],
            float(pos == 0),
            bm25_by_id.get(m.claim.id, 0.0) / ctx.t_bm25,
            cos_claim,
            cos_corr,
            cos_corr - cos_claim if has else 0.0,
            float(has),
            *cue_features(text, m.claim.text),
            *[float(x) for x in logits],
            float(p_misinfo),
        ]
        feats = np.concatenate([np.array(scal), emb, emb - ctx.claim_vectors[j]])
        out.append(Candidate(pos, j, feats))
    return out


class ClaimVerifier:
    """The learnt verifier (weights in models/semantic/claims_verifier.npz)."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any], digest: str = "") -> None:
        self.digest = digest
        self.coef = arrays["coef"].astype(np.float64)
        self.intercept = float(arrays["intercept"][0])
        self.mean = arrays["mean"].astype(np.float64)
        self.scale = arrays["scale"].astype(np.float64)
        self.meta = meta
        self.threshold = float(meta["threshold"])
        self.gate = float(meta["gate"])
        self.k = int(meta["k"])
        self.emb_weight = float(meta["emb_weight"])

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(the post asserts the claim) for rows of raw features."""
        return _probability(self.coef, self.intercept, self.mean, self.scale, self.emb_weight, features)

    def verify(
        self,
        text: str,
        emb: np.ndarray,
        logits: np.ndarray,
        p_misinfo: float,
        merged: list[ClaimMatch],
        bm25: list[ClaimMatch],
        ctx: VerifyContext,
    ) -> list[ClaimMatch]:
        """The post's matches, each with the probability it asserts that claim, most probable first."""
        found = candidate_features(text, emb, logits, p_misinfo, merged, bm25, ctx, self.gate, self.k)
        probs = dict(
            zip(
                (c.index for c in found),
                self.probability(np.stack([c.features for c in found])) if found else [],
                strict=True,
            )
        )
        # The label explains a decision; the rule-based stance names why a rejected post is not the claim.
        rules = cs.stance(text, merged[0].claim.text).label if merged else "asserts"
        out = []
        for pos, m in enumerate(merged):
            p = float(probs.get(pos, 0.0))
            label = "asserts" if p >= self.threshold else (rules if rules != "asserts" else "unverified")
            out.append(replace(m, probability=p, stance=label))
        return sorted(out, key=lambda m: -(m.probability or 0.0))


def _probability(
    coef: np.ndarray, intercept: float, mean: np.ndarray, scale: np.ndarray, emb_weight: float, x: np.ndarray
) -> np.ndarray:
    z = design(x, mean, scale, emb_weight) @ coef + intercept
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def n_scalars(n_heads: int) -> int:
    """How many scalar features precede the two embedding blocks."""
    return len(SCALARS) + n_heads + 1


def design(x: np.ndarray, mean: np.ndarray, scale: np.ndarray, emb_weight: float) -> np.ndarray:
    """Standardised scalars, then the embedding blocks (unit-norm vectors) scaled by `emb_weight`."""
    x = np.atleast_2d(x)
    n = len(mean)
    return np.hstack([(x[:, :n] - mean) / scale, x[:, n:] * emb_weight])


def without_correction(x: np.ndarray) -> np.ndarray:
    """The same rows as if their claims had no correction text (a claim added without one)."""
    out = np.array(x, copy=True)
    out[:, CORRECTION_SLICE] = 0.0
    return out


@dataclass
class VerifyContext:
    """What the verifier needs of the library: claim and correction embeddings, and the thresholds."""

    index: dict[str, int]
    claim_vectors: np.ndarray
    correction_vectors: np.ndarray
    t_bm25: float
    t_emb: float

    def key(self, m: ClaimMatch) -> float:
        """How far a match clears its method's threshold (the cascade's ranking key)."""
        return m.similarity / (self.t_emb if m.method == "embedding" else self.t_bm25)


def load_verifier(models_dir: Path) -> ClaimVerifier | None:
    """The verifier, or None when it was never trained; stale or corrupt weights are an error."""
    manifest = read_manifest(models_dir)
    if VERIFIER_FILE not in manifest.files:
        return None
    from townsquare.detection.artifacts import load_arrays

    arrays, meta = load_arrays(models_dir / VERIFIER_FILE, manifest.files[VERIFIER_FILE])
    fitted_to = {name: manifest.files.get(name) for name in SEMANTIC_INPUTS}
    if meta.get("semantic_files") != fitted_to:
        raise ArtifactError("the claim verifier was trained on another semantic tier", REBUILD)
    return ClaimVerifier(arrays, meta, manifest.files[VERIFIER_FILE])


def semantic_files(models_dir: Path) -> dict[str, str]:
    """Checksums of the semantic files the verifier's features come from (embeddings, logits, calibration)."""
    return {name: sha256_file(models_dir / name) for name in SEMANTIC_INPUTS}
