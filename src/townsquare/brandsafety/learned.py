"""The learned check on the rule labels: per-category text models stacked with the rules and signals.

The rules (rules.yaml) read a post word by word: they fire on figurative use ("we smashed the quiz",
"a murder of crows") and miss paraphrase ("guy's jaw is hanging off"). This module adds, per GARM
category, a linear model over the fast tier's hashed word and character n-grams (detection/features.py,
its own idf), and a small stacked combiner that weighs, for each post and category,

    the text model's log-odds, whether the rules/signals found the category, and at which risk,

into one probability (weights pooled over categories, plus a bias per category and a weight per category
on "the rules/signals found it", all learnt from posts the rules never saw).
A category is kept when that probability reaches the threshold chosen by cross-validation; a label the
rules found keeps the rules' risk (and evidence), a label only the model finds gets the text risk model's
tier, never the floor (the floor always needs a rule, a signal or an action), and a rule's floor on a
post the risk model reads as news or education is lowered to low; any other rule floor stands only when
a floor-vs-not model (a column of each head) agrees, else it becomes high. Training:
`townsquare brand-safety train` (brandsafety/training.py); cost is one hashing pass and one sparse
product per post.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.scorers import Label
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.detection.features import Featurizer
from townsquare.detection.normalize import normalize

MODELS_DIR = PROJECT_ROOT / "models"
MODEL_FILE = MODELS_DIR / "brandsafety" / "labels.npz"
SCORER = "brandsafety.learned"
N_FEATURES = 2**18
RISK_TIERS = (tx.HIGH, tx.MEDIUM, tx.LOW)  # what the text risk model may give (never the floor)
# A rule's floor becomes low when the risk model is this sure the post reports or educates ("study finds
# most teens see porn before 13"): on train + dev, out of fold, only such a post reached 0.5.
DEMOTE_FLOOR = 0.8
NOT_FLOOR = "not confirmed as floor"


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def stack_features(
    logits: np.ndarray, found: Sequence[dict[str, str]], per_category: bool = False
) -> np.ndarray:
    """The combiner's inputs per (post, category): text log-odds, found by rules/signals, found at each risk.

    `logits` is (posts, categories); `found` the rules' and signals' category -> risk per post. With
    `per_category`, two one-hot blocks follow: the category (its own bias) and the category when the
    rules/signals found it (how far that category's rules are trusted). Returns (posts * categories,
    6, or 6 + 2 * categories), post-major.
    """
    n, k = logits.shape
    out = np.zeros((n, k, 6), dtype=np.float64)
    out[:, :, 0] = logits
    for i, got in enumerate(found):
        for j, cat in enumerate(tx.CATEGORY_IDS):
            risk = got.get(cat)
            if risk is not None:
                out[i, j, 1] = 1.0
                out[i, j, 1 + tx.rank(risk)] = 1.0
    if per_category:
        eye = np.broadcast_to(np.eye(k), (n, k, k))
        out = np.concatenate([out, eye, eye * out[:, :, 1:2]], axis=2)
    return out.reshape(n * k, out.shape[2])


def per_category(combiner: np.ndarray) -> bool:
    """Whether a combiner's weights include the per-category blocks (6 pooled weights + intercept else)."""
    return len(combiner) == 7 + 2 * len(tx.CATEGORY_IDS)


@dataclass
class Head:
    """One linear layer over a feature space: category log-odds then risk-tier scores."""

    weights: np.ndarray  # (features, categories + risk tiers)
    bias: np.ndarray

    def scores(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Category log-odds (posts, categories) and risk-tier scores (posts, 3)."""
        logits, risks, _ = self.all_scores(x)
        return logits, risks

    def all_scores(self, x: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Category log-odds, risk-tier scores and floor-vs-not log-odds (zeros for a head without one)."""
        z = np.asarray(x @ self.weights) + self.bias
        k, t = len(tx.CATEGORY_IDS), len(RISK_TIERS)
        floor = z[:, k + t] if z.shape[1] > k + t else np.zeros(len(z))
        return z[:, :k], z[:, k : k + t], floor


@dataclass
class LearnedModel:
    """The text heads, the stacked combiners and their thresholds (see the module docstring).

    With the sentence encoder (the semantic tier's MiniLM) the text log-odds are the mean of the n-gram
    and the embedding heads' (`combiner`, `threshold`); without it, the n-gram head's alone
    (`fast_combiner`, `fast_threshold`). The encoder only reads posts that the rules or signals labelled
    or whose n-gram log-odds reach `gate` for some category: the rest cannot reach the threshold.
    """

    featurizer: Featurizer
    ngram: Head
    embed: Head
    combiner: np.ndarray  # 6 pooled weights (+ 2 per category, see stack_features) and an intercept
    threshold: float
    fast_combiner: np.ndarray
    fast_threshold: float
    gate: float
    version: str
    encoder: Any = None  # texts -> unit embeddings (n, 384), or None
    # A rule's floor stands only when the floor-vs-not log-odds reach this (else it becomes high); None: off.
    floor_threshold: float | None = None

    def text_scores(
        self, texts: Sequence[str], base: Sequence[dict[str, str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Text log-odds, risk scores, and which posts were embedded."""
        logits, risks, _, embedded = self.all_text_scores(texts, base)
        return logits, risks, embedded

    def all_text_scores(
        self, texts: Sequence[str], base: Sequence[dict[str, str]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Text log-odds, risk scores, floor-vs-not log-odds, and which posts were embedded."""
        norms = [normalize(t) for t in texts]
        logits, risks, floor = self.ngram.all_scores(self.featurizer.transform(norms))
        embedded = np.zeros(len(texts), dtype=bool)
        if self.encoder is None:
            return logits, risks, floor, embedded
        embedded = np.array([bool(b) for b in base]) | (logits.max(axis=1) >= self.gate)
        idx = np.flatnonzero(embedded)
        if len(idx):
            lg, rk, fl = self.embed.all_scores(self.encoder([norms[int(i)] for i in idx]))
            logits[idx] = (logits[idx] + lg) / 2
            risks[idx] = (risks[idx] + rk) / 2
            floor[idx] = (floor[idx] + fl) / 2
        return logits, risks, floor, embedded

    def probabilities(
        self, logits: np.ndarray, found: Sequence[dict[str, str]], embedded: np.ndarray
    ) -> np.ndarray:
        """The combiner's probability per (post, category), minus its threshold (keep when >= 0)."""
        k = len(tx.CATEGORY_IDS)
        margins = []
        for comb, thr in ((self.combiner, self.threshold), (self.fast_combiner, self.fast_threshold)):
            f = stack_features(logits, found, per_category(comb)).reshape(len(found), k, -1)
            margins.append(_sigmoid(f @ comb[:-1] + comb[-1]) - thr)
        return np.where(embedded[:, None], margins[0], margins[1])

    def refine(self, texts: Sequence[str], base: Sequence[list[Label]]) -> list[list[Label]]:
        """The rules' and signals' labels of each text, checked and completed by the learned models."""
        if not texts:
            return []
        found = [{lab.category: lab.risk for lab in labels} for labels in base]
        logits, risk_scores, floor, embedded = self.all_text_scores(texts, found)
        margin = self.probabilities(logits, found, embedded)
        out = []
        for i, labels in enumerate(base):
            have = {lab.category: lab for lab in labels}
            kept: list[Label] = []
            for j, cat in enumerate(tx.CATEGORY_IDS):
                if margin[i, j] < 0:
                    continue
                item = {
                    "kind": "model",
                    "scorer": f"{SCORER}@{self.version}",
                    "margin": round(float(margin[i, j]), 4),
                }
                if cat in have:
                    lab = have[cat]
                    risk = lab.risk
                    if risk == tx.FLOOR and _softmax(risk_scores[i])[-1] >= DEMOTE_FLOOR:
                        risk, item["demoted"] = tx.LOW, "news or education"
                    elif risk == tx.FLOOR and not self.floor_confirmed(float(floor[i])):
                        risk, item["demoted"] = tx.HIGH, NOT_FLOOR
                    kept.append(Label(cat, risk, (*lab.evidence, item)))
                else:
                    kept.append(Label(cat, RISK_TIERS[int(np.argmax(risk_scores[i]))], (item,)))
            out.append(kept)
        return out

    def floor_confirmed(self, floor_logit: float) -> bool:
        """Whether the floor-vs-not model agrees with a rule's floor (always, without a floor check)."""
        return self.floor_threshold is None or floor_logit >= self.floor_threshold

    def save(self, path: Path, meta: dict[str, Any]) -> None:
        """Write the artifact: only the hashed features that some training text had (the rest are zero)."""
        used = np.flatnonzero(self.featurizer.idf)  # type: ignore[arg-type]
        path.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "version": self.version,
            "threshold": self.threshold,
            "fast_threshold": self.fast_threshold,
            "gate": self.gate,
            "floor_threshold": self.floor_threshold,
            **meta,
        }
        np.savez_compressed(
            path,
            used=used.astype(np.int32),
            idf=self.featurizer.idf[used],  # type: ignore[index]
            ngram_w=self.ngram.weights[used].astype(np.float32),
            ngram_b=self.ngram.bias.astype(np.float32),
            embed_w=self.embed.weights.astype(np.float32),
            embed_b=self.embed.bias.astype(np.float32),
            combiner=self.combiner.astype(np.float64),
            fast_combiner=self.fast_combiner.astype(np.float64),
            meta=np.array(json.dumps(info, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path, encoder: Any = None) -> LearnedModel:
        """Read an artifact written by `save`."""
        with np.load(path, allow_pickle=False) as z:
            used = z["used"].astype(np.int64)
            idf = np.zeros(N_FEATURES, dtype=np.float32)
            idf[used] = z["idf"]
            weights = np.zeros((N_FEATURES, z["ngram_w"].shape[1]), dtype=np.float32)
            weights[used] = z["ngram_w"]
            meta = json.loads(str(z["meta"]))
            return cls(
                Featurizer(N_FEATURES, idf),
                Head(weights, z["ngram_b"]),
                Head(z["embed_w"], z["embed_b"]),
                z["combiner"],
                float(meta["threshold"]),
                z["fast_combiner"],
                float(meta["fast_threshold"]),
                float(meta["gate"]),
                str(meta["version"]),
                encoder,
                None if meta.get("floor_threshold") is None else float(meta["floor_threshold"]),
            )


def sentence_encoder(models_dir: Path = MODELS_DIR) -> Any:
    """The semantic tier's MiniLM as texts -> unit embeddings; None without onnxruntime or the artifact."""
    try:
        from townsquare.detection.semantic import (
            CALIBRATION_FILE,
            TOKENIZER_FILE,
            Encoder,
        )
        from townsquare.detection.semantic import (
            MODEL_FILE as ONNX,
        )

        max_len = int(json.loads((models_dir / CALIBRATION_FILE).read_text(encoding="utf-8"))["max_len"])
        # One thread: posts come in small batches on many workers, where intra-op threads cost ~1.7x the CPU.
        enc = Encoder(models_dir / ONNX, models_dir / TOKENIZER_FILE, max_len, threads=1)
    except (ImportError, OSError, KeyError, ValueError):
        return None
    return lambda texts: enc.run(list(texts))[0]


@lru_cache(maxsize=4)
def _cached(path: Path, stamp: float, semantic: bool) -> LearnedModel:
    return LearnedModel.load(path, sentence_encoder() if semantic else None)


def learned_model(path: Path = MODEL_FILE, semantic: bool = True) -> LearnedModel | None:
    """The process's learned model (reloaded when the artifact changes); None when it was never trained.

    With `semantic` off the model never embeds: every post takes the n-gram head and the fast combiner,
    as posts below the embedding gate always do (TOWNSQUARE_SEMANTIC=false means no MiniLM anywhere).
    """
    if not path.exists():
        return None
    return _cached(path, path.stat().st_mtime, semantic)


def for_settings(settings: Settings) -> LearnedModel | None:
    """The shipped model; None when the models are off (TOWNSQUARE_MODELS_ENABLED=false) or untrained."""
    return learned_model(semantic=settings.semantic) if settings.models_enabled else None


def refine(
    model: LearnedModel | None, texts: Sequence[str], base: Sequence[list[Label]]
) -> list[list[Label]]:
    """`LearnedModel.refine`; the base labels unchanged without a model."""
    return model.refine(texts, base) if model is not None else [list(b) for b in base]


def version(model: LearnedModel | None) -> str:
    """The learned model's version for label versions ("" without one)."""
    return "" if model is None else f"{SCORER}@{model.version}"
