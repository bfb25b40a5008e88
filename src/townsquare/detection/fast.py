"""The fast tier at run time: every head's weights in one matrix, scored in one sparse product.

All heads read the same feature rows, so a batch is featurised once and `X @ W` gives every head's
margin at once. Binary heads turn margins into calibrated probabilities (Platt); the multi-class
target head uses a softmax. Evidence for a flagged text is the words whose features pushed its
margin up the most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from townsquare.detection.artifacts import ArtifactError, Manifest, load_arrays, read_manifest
from townsquare.detection.features import Featurizer, model_text, tokenize

FEATURES_FILE = "fast/features.npz"
MAX_PHRASE = 3
# Words that never count as evidence on their own: scikit-learn's English stop words, contractions of
# them, titles and the placeholders model_text writes for mentions, links and numbers.
FUNCTION_WORDS = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "i'm i've i'll i'd you're you've you'll you'd he's she's it's we're we've we'll they're they've they'll"
    " that's there's what's who's let's isn't aren't wasn't weren't don't doesn't didn't won't wouldn't"
    " can't cannot couldn't shouldn't haven't hasn't hadn't ain't gonna wanna gotta im ive dont cant wont"
    " u ur ya yall y'all lol rt amp via @user url http https www com rep reps sen gov mr mrs ms dr st"
    " says said just like got get really oh yeah ok okay".split()
)


@dataclass(frozen=True)
class Head:
    """One trained head: its place in the weight matrix and how to read its margins."""

    name: str
    version: str
    kind: str  # binary | multiclass
    classes: tuple[str, ...]
    columns: tuple[int, ...]  # columns of the shared weight matrix
    threshold: float | None
    auto_threshold: float | None
    platt: tuple[float, float] | None
    meta: dict[str, Any]


def load_featurizer(models_dir: Path, manifest: Manifest) -> Featurizer:
    """The shared featurizer with its trained idf weights."""
    if FEATURES_FILE not in manifest.files:
        raise ArtifactError(f"{models_dir / FEATURES_FILE} is not in the manifest")
    arrays, meta = load_arrays(models_dir / FEATURES_FILE, manifest.files[FEATURES_FILE])
    return Featurizer(int(meta["n_features"]), idf=arrays["idf"].astype(np.float32))


class FastTier:
    """Loads every fast head listed in the manifest and scores batches of texts."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = models_dir
        self.manifest = read_manifest(models_dir)
        self.featurizer = load_featurizer(models_dir, self.manifest)
        n = self.featurizer.n_features
        heads: dict[str, Head] = {}
        blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        col = 0
        for file in sorted(f for f in self.manifest.files if f.startswith("fast/") and f != FEATURES_FILE):
            arrays, meta = load_arrays(models_dir / file, self.manifest.files[file])
            weights = arrays["weights"]
            k = weights.shape[0]
            blocks.append((arrays["cols"], weights, arrays["intercept"]))
            cal = meta.get("calibration")
            heads[meta["name"]] = Head(
                name=meta["name"],
                version=self.manifest.version_of(meta["name"], file),
                kind=meta["kind"],
                classes=tuple(meta["classes"]),
                columns=tuple(range(col, col + k)),
                threshold=meta.get("threshold"),
                auto_threshold=meta.get("auto_threshold"),
                platt=(cal["a"], cal["b"]) if cal else None,
                meta=meta,
            )
            col += k
        self.W = np.zeros((n, col), dtype=np.float32)
        self.bias = np.zeros(col, dtype=np.float32)
        start = 0
        for cols, weights, intercept in blocks:
            k = weights.shape[0]
            self.W[cols, start : start + k] = weights.T
            self.bias[start : start + k] = intercept
            start += k
        self.heads = heads

    def features(self, texts: Sequence[str]) -> csr_matrix:
        """The shared feature rows of a batch."""
        return self.featurizer.transform(texts)

    def margins(self, X: csr_matrix) -> np.ndarray:
        """Every head's raw margin for every row (n x outputs)."""
        return np.asarray(X @ self.W) + self.bias

    def probabilities(self, margins: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated probabilities per head: (n,) for binary heads, (n, classes) for multi-class."""
        out: dict[str, np.ndarray] = {}
        for head in self.heads.values():
            m = margins[:, list(head.columns)]
            if head.kind == "binary":
                a, b = head.platt or (1.0, 0.0)
                out[head.name] = 1.0 / (1.0 + np.exp(-(a * m[:, 0] + b)))
            else:
                z = np.exp(m - m.max(axis=1, keepdims=True))
                out[head.name] = z / z.sum(axis=1, keepdims=True)
        return out

    def score(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Featurise and score a batch."""
        return self.score_rows(texts)[0]

    def score_rows(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], csr_matrix]:
        """Featurise and score a batch; also the feature rows, which explain flagged scores."""
        X = self.features(texts)
        return self.probabilities(self.margins(X)), X

    def explainer(self, text: str, row: csr_matrix | None = None) -> Explainer:
        """Evidence for this text under any head; its words are taken apart once, on first use."""
        return Explainer(self, text, row)


class Explainer:
    """Which words raised a head's margin for one text: a feature's weighted value, shared out among
    the tokens that produced it (a bigram feature counts for both of its words).

    The text is taken apart once into (token position, feature, shared value) triples; each head's
    evidence is then one gather of its weights and one `bincount` per text.
    """

    def __init__(self, model: FastTier, text: str, row: csr_matrix | None) -> None:
        self.model, self.text, self.row = model, text, row
        self._parts: tuple[list[str], np.ndarray, np.ndarray, np.ndarray] | None = None

    def _prepare(self) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        if self._parts is None:
            f = self.model.featurizer
            row = self.row if self.row is not None else f.transform([self.text])
            toks = tokenize(model_text(self.text))
            words = [f._word_ids(t) for t in toks]
            bigrams = np.array(
                [f._h(f"b:{a} {b}") for a, b in zip(toks, toks[1:], strict=False)], dtype=np.int64
            )
            n, nb = len(toks), len(bigrams)
            # A word's own features count for it; a bigram counts for both of its words.
            features = np.concatenate([*(w.astype(np.int64) for w in words), bigrams, bigrams])
            positions = np.concatenate(
                [np.repeat(np.arange(n), [len(w) for w in words]), np.arange(nb), np.arange(1, nb + 1)]
            )
            # Each feature's value in the row, divided by how many token slots share it.
            unique, inverse, occurrences = np.unique(features, return_inverse=True, return_counts=True)
            values = np.zeros(len(unique), dtype=np.float64)
            if row.nnz:
                if not row.has_sorted_indices:
                    row = row.copy()
                    row.sort_indices()
                at = np.minimum(np.searchsorted(row.indices, unique), row.nnz - 1)
                present = row.indices[at] == unique
                values[present] = row.data[at[present]]
            shares = (values / occurrences)[inverse]
            keep = shares != 0
            self._parts = (toks, positions[keep], features[keep], shares[keep])
        return self._parts

    def evidence(self, head: str, top: int = 3) -> list[dict[str, Any]]:
        """The `top` phrases (word n-grams of up to three tokens) that raised `head`'s margin the most.

        A phrase starts and ends on a content word that itself raised the margin, so a function word
        ("the", "a", "won't"), a title ("rep") or a placeholder ("@user", "url") is never evidence alone;
        it may sit inside a phrase ("coming for you" is not offered, "kill you" is). Phrases do not
        overlap; each is weighted by the sum of its tokens' contributions.
        """
        toks, positions, features, shares = self._prepare()
        if not toks:
            return []
        col = self.model.heads[head].columns[-1]
        weights = self.model.W[features, col].astype(np.float64)
        per_position = np.bincount(positions, weights=shares * weights, minlength=len(toks)).tolist()
        return phrases(toks, per_position, top)


def _content(token: str) -> bool:
    """A token that can carry evidence on its own: a word, not a function word, title or placeholder."""
    return token.lower() not in FUNCTION_WORDS and any(ch.isalpha() for ch in token) and len(token) > 1


def phrases(toks: Sequence[str], contribution: Sequence[float], top: int = 3) -> list[dict[str, Any]]:
    """Non-overlapping word n-grams (n <= 3) bounded by content words that raised the margin, best first."""
    spans: list[tuple[float, int, int]] = []
    n = len(toks)
    for i in range(n):
        if contribution[i] <= 0 or not _content(toks[i]):
            continue
        for j in range(i, min(i + MAX_PHRASE, n)):
            if contribution[j] <= 0 or not _content(toks[j]):
                continue
            total = float(sum(contribution[i : j + 1]))
            if total > 0:
                spans.append((total, i, j))
    spans.sort(key=lambda s: (-s[0], s[1]))
    used = [False] * n
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for total, i, j in spans:
        if any(used[i : j + 1]):
            continue
        match = " ".join(toks[i : j + 1])
        if match in seen:
            continue
        seen.add(match)
        used[i : j + 1] = [True] * (j + 1 - i)
        out.append({"kind": "phrase", "match": match, "weight": round(total, 4)})
        if len(out) == top:
            break
    return out
