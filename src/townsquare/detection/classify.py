"""The classifier: language, the fast tier, claim matching and (when installed) the semantic tier.

`Classifier.classify` returns the public contract for each text (documented in the README):

    {"language": "en",
     "scores": {"hate": {probability, flagged, threshold, auto_threshold, evidence, version, target},
                "abuse": {..., targeted}, "threat": {...},
                "misinformation": {..., claims: [{id, text, similarity, verdict, source}]},
                "scam": {...}, "spam": {...}}}

`signals()` turns a result into the policy engine's Signals (`model.hate`, `claims.election`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection.base import Signal
from townsquare.detection.claims import ClaimMatch, ClaimMatcher, load_claims
from townsquare.detection.claims_model import ClaimModel, load_claim_model
from townsquare.detection.fast import Explainer, FastTier
from townsquare.detection.language import UNDETERMINED, LanguageDetector
from townsquare.detection.lexicon import default_lexicon

SCORERS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")
TARGETED = ("none", "individual", "group")


AUTOMATION_PRECISION = 0.95  # Wilson 95% lower bound at the stated base rate


def _proven(found: Any) -> float | None:
    """A base-rate validation's threshold, when it states its base rate and its bound clears 0.95."""
    if not isinstance(found, dict) or found.get("threshold") is None or found.get("base_rate") is None:
        return None
    if float(found.get("precision_lower_bound") or 0.0) < AUTOMATION_PRECISION:
        return None
    return float(found["threshold"])


@dataclass
class Score:
    """One scorer's verdict on one text (the contract's per-scorer object)."""

    probability: float
    flagged: bool
    threshold: float | None
    auto_threshold: float | None
    version: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    tier: str = "fast"
    targeted_individual: float | None = None  # abuse only: P(abusive) x P(aimed at an individual)

    @property
    def auto(self) -> bool:
        """Whether this score clears the scorer's validated threshold for acting alone."""
        return self.auto_threshold is not None and self.probability >= self.auto_threshold

    def to_dict(self) -> dict[str, Any]:
        """The public contract shape."""
        return {
            "probability": round(float(self.probability), 4),
            "flagged": self.flagged,
            "threshold": self.threshold,
            "auto_threshold": self.auto_threshold,
            "evidence": self.evidence,
            "version": self.version,
            "tier": self.tier,
            **self.extra,
        }


@dataclass
class Result:
    """Everything the classifier found in one text."""

    language: str
    scores: dict[str, Score]

    def to_dict(self) -> dict[str, Any]:
        """The public contract shape."""
        return {"language": self.language, "scores": {k: v.to_dict() for k, v in self.scores.items()}}


class Classifier:
    """Scores texts with every scorer; load once per process (thread-safe for scoring)."""

    def __init__(self, models_dir: Path, claims_dir: Path, semantic: Any | None = None) -> None:
        self.fast = FastTier(models_dir)
        self.claims = ClaimMatcher(load_claims(claims_dir))
        self.claim_model: ClaimModel = load_claim_model(models_dir, self.claims)
        self.language = LanguageDetector()
        self.lexicon = default_lexicon()
        self.semantic = semantic
        if semantic is not None:
            semantic.attach_claims(self.claims.claims)
        missing = [s for s in SCORERS if s not in self.fast.heads]
        if missing:
            from townsquare.detection.artifacts import ArtifactError

            raise ArtifactError(f"models for {', '.join(missing)} are missing from {models_dir}")

    def automation_thresholds(self) -> dict[str, float | None]:
        """Each model scorer's auto threshold validated at the platform's base rate, for the policies'
        `auto_threshold: validated` (content actions only); None where any tier in use lacks one.

        Read from the models' metadata (`auto_thresholds.<head>`: `threshold`, `base_rate`,
        `precision_lower_bound`); only a Wilson 95% lower bound of at least 0.95 at a stated base rate
        counts. The strictest threshold over the tiers in use wins.
        """
        out: dict[str, float | None] = {}
        for name in SCORERS:
            found = [(self.fast.heads[name].meta.get("auto_thresholds") or {}).get(name)]
            if self.semantic is not None:
                found.append(self.semantic.base_rate_threshold(name))
            values = [_proven(f) for f in found]
            known = [v for v in values if v is not None]
            out[f"model.{name}"] = max(known) if known and len(known) == len(values) else None
        return out

    def validated_thresholds(self) -> dict[str, float | None]:
        """Each model scorer's validated auto threshold (the strictest over the tiers in use).

        Claim matches never act alone: matching similarity is not a validated precision.
        """
        out: dict[str, float | None] = {
            "claims.election": None,
            "claims.health": None,
            "model.harassment": None,
        }
        for name in SCORERS:
            fast = self.fast.heads[name].auto_threshold
            values: list[float | None] = [fast]
            if self.semantic is not None:
                values.append(self.semantic.auto_threshold(name))
            known = [v for v in values if v is not None]
            out[f"model.{name}"] = max(known) if len(known) == len(values) else None
        return out

    def base_rate_thresholds(self) -> dict[str, dict[str, Any]]:
        """Each model scorer's auto threshold validated at the platform's base rate (issue 12).

        Per scorer: the strictest threshold over the tiers in use, with its `base_rate` and the Wilson
        95% `precision_lower_bound` (the weakest over the tiers); `threshold` None when any tier has
        none (the scorer never acts alone). Read from each head's `auto_thresholds` metadata.
        """
        out: dict[str, dict[str, Any]] = {}
        for name in SCORERS:
            found = [dict((self.fast.heads[name].meta.get("auto_thresholds") or {}).get(name) or {})]
            if self.semantic is not None:
                found.append(dict((self.semantic.head(name).get("auto_thresholds") or {}).get(name) or {}))
            values = [float(f["threshold"]) for f in found if f.get("threshold") is not None]
            bounds = [
                float(f["precision_lower_bound"]) for f in found if f.get("precision_lower_bound") is not None
            ]
            out[f"model.{name}"] = {
                "threshold": max(values) if len(values) == len(found) else None,
                "base_rate": next((f["base_rate"] for f in found if "base_rate" in f), None),
                "precision_lower_bound": min(bounds) if len(bounds) == len(found) else None,
            }
        return out

    def claim_hit(self, m: ClaimMatch) -> bool:
        """Whether a match flags the post: the verifier's probability when it ran, else the similarity."""
        verifier = self.semantic.verifier if self.semantic is not None else None
        if m.probability is not None and verifier is not None:
            return m.probability >= verifier.threshold
        return m.similarity >= self.claim_threshold(m.method)

    def claim_threshold(self, method: str) -> float:
        """The similarity from which a BM25 or an embedding match counts."""
        if method == "embedding" and self.semantic is not None:
            return float(self.semantic.calibration["claims"]["embedding_threshold"])
        return self.claim_model.bm25_threshold

    def versions(self) -> dict[str, str]:
        """Every scorer's version string (recorded with each decision)."""
        out = {s: self.fast.heads[s].version for s in SCORERS}
        out["claims"] = self.claim_model.version
        if self.semantic is not None and self.semantic.verifier is not None:
            out["claims"] += f"+verifier.{self.semantic.verifier.digest[:8]}"
        if self.semantic is not None:
            out["semantic"] = self.semantic.version
        return out

    def classify(
        self,
        texts: Sequence[str],
        languages: Sequence[str | None] | None = None,
        high_reach: Sequence[bool] | None = None,
    ) -> list[Result]:
        """Classify a batch; a given language is trusted, a missing one is detected."""
        langs = [
            (given if given else self.language.detect(t).language)
            for t, given in zip(texts, languages or [None] * len(texts), strict=True)
        ]
        probs, rows = self.fast.score_rows(texts)
        matches = self.claim_model.match(texts)
        combined: dict[str, np.ndarray] = {}
        if self.semantic is not None:
            probs, matches, combined = self.semantic.rescore(
                texts, probs, matches, high_reach, self.claim_model.bm25_threshold
            )
        matches = self.claim_model.screen(texts, matches)  # corrections and questions are not the claim
        return [
            self._result(i, t, langs[i], probs, matches[i], combined, self.fast.explainer(t, rows[i]))
            for i, t in enumerate(texts)
        ]

    def _binary(self, name: str, p: float, explain: Explainer, tier: str) -> Score:
        head = self.fast.heads[name]
        # With the semantic tier installed every post is judged on the cascade's thresholds (a post
        # the semantic model did not re-score keeps its fast probability on that same scale).
        threshold, auto, version = head.threshold, head.auto_threshold, head.version
        if self.semantic is not None:
            threshold, auto = self.semantic.threshold(name), self.semantic.auto_threshold(name)
            version = f"{head.version}/{self.semantic.version}"
        flagged = threshold is not None and p >= threshold
        evidence = explain.evidence(name) if flagged else []
        return Score(float(p), bool(flagged), threshold, auto, version, evidence, tier=tier)

    def _result(
        self,
        i: int,
        text: str,
        language: str,
        probs: dict[str, np.ndarray],
        matches: list[ClaimMatch],
        combined: dict[str, np.ndarray],
        explain: Explainer,
    ) -> Result:
        scores = {
            name: self._binary(
                name,
                float(probs[name][i]),
                explain,
                "cascade" if name in combined and combined[name][i] else "fast",
            )
            for name in SCORERS
        }
        hate = scores["hate"]
        target, mentions = self.lexicon.target(text)
        hate.extra["target"] = target
        if hate.flagged and mentions:
            hate.evidence.append({"kind": "identity_term", "match": mentions[0].term, "category": target})
        abuse = scores["abuse"]
        targeted = TARGETED[int(np.argmax(probs["targeted"][i]))] if abuse.flagged else "none"
        abuse.extra["targeted"] = targeted
        # Abuse aimed at a person (not profanity in the air): what the harassment policy reads.
        abuse.targeted_individual = float(
            abuse.probability * probs["targeted"][i][TARGETED.index("individual")]
        )
        misinfo = scores["misinformation"]
        hits = [m for m in matches if self.claim_hit(m)]
        misinfo.extra["claims"] = [m.to_dict() for m in matches[:5] if m in hits]
        if hits:
            misinfo.flagged = True
            misinfo.evidence = [
                {"kind": "claim", "match": m.claim.id, "similarity": round(m.similarity, 4)} for m in hits[:3]
            ] + misinfo.evidence
        return Result(language or UNDETERMINED, scores)


def signals(result: Result) -> list[Signal]:
    """The policy engine's signals for one classified text.

    Model scores feed the policies that name `model.<scorer>`; matched claims feed
    `claims.election` or `claims.health` with the best match's score: the claim verifier's probability
    that the post asserts the claim (semantic tier), else its similarity.
    """
    out = []
    for name, score in result.scores.items():
        label = "flagged" if score.flagged else None
        extra = {k: v for k, v in score.extra.items() if k in ("target", "targeted") and v}
        evidence = tuple({**e} for e in score.evidence) + ((extra,) if extra and score.flagged else ())
        out.append(Signal(f"model.{name}", score.version, None, score.probability, label, evidence))
        if score.targeted_individual is not None:
            out.append(
                Signal("model.harassment", score.version, None, score.targeted_individual, label, evidence)
            )
    best: dict[str, dict[str, Any]] = {}
    for claim in result.scores["misinformation"].extra.get("claims", []):
        key = "claims.election" if claim["topic"].startswith("election") else "claims.health"
        if key not in best or _claim_score(claim) > _claim_score(best[key]):
            best[key] = claim
    for key, claim in best.items():
        evidence = (
            {"kind": "claim", "match": claim["id"], "text": claim["text"], "source": claim["source"]},
        )
        policy = "election_misinformation" if key == "claims.election" else "health_misinformation"
        version = result.scores["misinformation"].version
        out.append(Signal(key, version, policy, _claim_score(claim), "matched", evidence))
    return out


def _claim_score(claim: dict[str, Any]) -> float:
    """A matched claim's signal score: the verifier's probability that the post asserts it, when it ran."""
    return float(claim.get("probability", claim["similarity"]))
