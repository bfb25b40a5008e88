"""The fast tier's features: hashed word and character n-grams of the normalised text.

Every fast model reads the same sparse matrix, built once per batch:

* the text goes through the shared `normalize` (so "h 4 t e" and "hate" look alike), then links
  become `url`, mentions `@user`, and long digit runs `0` (the datasets differ in how they
  anonymised these, and the models must not learn which dataset a post came from);
* word unigrams and bigrams, and the character 2- to 5-grams of each word padded with spaces
  (like scikit-learn's `char_wb`), are hashed with MurmurHash3 into `n_features` buckets;
* counts become `1 + log(count)`, are scaled by the inverse document frequency learnt at training
  time, and each row is scaled to unit length.

A word's character n-grams are computed once and cached (words repeat: a few thousand cover most
text), which makes this several times faster than re-deriving them for every post.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.utils import murmurhash3_32

from townsquare.detection.normalize import normalize

N_FEATURES = 2**20
CHAR_NGRAMS = (2, 5)
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|org|net|ly|co|io|info|uk)(?:/\S*)?\b")
_MENTION = re.compile(r"(?<![\w@])@\w+")
_DIGITS = re.compile(r"\d{3,}")
# Words (with inner apostrophes), hashtags, and single symbols other than plain punctuation (emoji,
# "!", "?", currency signs carry meaning; commas and full stops do not).
_TOKEN = re.compile(r"[#@]?[^\W_]+(?:'[^\W_]+)*|[^\w\s.,;:\"'()\[\]{}\-_/\\*&]")
_CACHE_LIMIT = 400_000


@lru_cache(maxsize=4096)
def model_text(text: str) -> str:
    """The normalised text with links, mentions and long numbers replaced by placeholders.

    Cached: the featuriser, the evidence and the identity lexicon each need it for the same post.
    """
    t = normalize(text)
    if "@" in t:
        t = _MENTION.sub("@user", t)
    if "." in t or "/" in t:
        t = _URL.sub(" url ", t)
    return _DIGITS.sub("0", t)


def tokenize(model_form: str) -> list[str]:
    """The word and symbol tokens of a model-form text."""
    return _TOKEN.findall(model_form)


class Featurizer:
    """Hashes texts into the shared sparse feature space (see the module docstring)."""

    def __init__(self, n_features: int = N_FEATURES, idf: np.ndarray | None = None) -> None:
        self.n_features = n_features
        self.idf = idf
        self._cache: dict[str, np.ndarray] = {}
        self._pairs: dict[tuple[str, str], int] = {}  # word bigram -> hashed id (pairs repeat too)
        self._lock = threading.Lock()

    def _h(self, key: str) -> int:
        return int(murmurhash3_32(key, seed=0, positive=True)) % self.n_features

    def _word_ids(self, token: str) -> np.ndarray:
        """The hashed ids of a word and of its padded character n-grams (cached)."""
        ids = self._cache.get(token)
        if ids is not None:
            return ids
        padded = f" {token} "
        lo, hi = CHAR_NGRAMS
        keys = ["w:" + token]
        for n in range(lo, hi + 1):
            keys.extend("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
        ids = np.fromiter((self._h(k) for k in keys), dtype=np.int32, count=len(keys))
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = ids
        return ids

    def _pair_id(self, a: str, b: str) -> int:
        """The hashed id of a word bigram (cached: hashing costs more than the lookup)."""
        found = self._pairs.get((a, b))
        if found is not None:
            return found
        h = self._h(f"b:{a} {b}")
        with self._lock:
            if len(self._pairs) >= _CACHE_LIMIT:
                self._pairs.clear()
            self._pairs[(a, b)] = h
        return h

    def counts(self, texts: Sequence[str]) -> csr_matrix:
        """Raw hashed n-gram counts, one row per text (canonical: columns sorted, no duplicates)."""
        chunks: list[np.ndarray] = []
        lengths = np.zeros(len(texts), dtype=np.int64)
        for row, text in enumerate(texts):
            toks = tokenize(model_text(text))
            n = 0
            for tok in toks:
                ids = self._word_ids(tok)
                chunks.append(ids)
                n += len(ids)
            if len(toks) > 1:
                bigrams = np.fromiter(
                    (self._pair_id(a, b) for a, b in zip(toks, toks[1:], strict=False)),
                    dtype=np.int32,
                    count=len(toks) - 1,
                )
                chunks.append(bigrams)
                n += len(bigrams)
            lengths[row] = n
        indices = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int32)
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        data = np.ones(len(indices), dtype=np.float32)
        m = csr_matrix((data, indices, indptr), shape=(len(texts), self.n_features))
        m.sum_duplicates()
        return m

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """Weighted, unit-length feature rows (idf must have been fitted or loaded)."""
        m = self.counts(texts)
        return self.weigh(m)

    def weigh(self, m: csr_matrix) -> csr_matrix:
        """Apply 1 + log(count), the idf weights and row normalisation to a counts matrix.

        On the arrays, with the same float32 arithmetic (and order of summation) as scipy's
        `m.multiply(m).sum(axis=1)` on a canonical matrix, so rows are bit-for-bit what they were.
        """
        if not m.has_canonical_format:  # `counts` never makes one; sum a copy, never the caller's
            m = m.copy()
            m.sum_duplicates()
        data = 1.0 + np.log(m.data)
        if self.idf is not None:
            data *= self.idf[m.indices]
        per_row = np.diff(m.indptr)
        squares = data * data
        kept = squares != 0  # scipy's elementwise product drops the zeros before summing
        kept_ptr = np.zeros(len(per_row) + 1, dtype=np.int64)
        if len(per_row):
            row_of = np.repeat(np.arange(len(per_row)), per_row)
            np.cumsum(np.bincount(row_of[kept], minlength=len(per_row)), out=kept_ptr[1:])
        sq = np.zeros(len(per_row), dtype=squares.dtype)
        rows = np.flatnonzero(np.diff(kept_ptr))
        if len(rows):
            sq[rows] = np.add.reduceat(squares[kept], kept_ptr[rows])
        norms = np.sqrt(np.maximum(sq, 1e-12))
        data /= np.repeat(norms, per_row).astype(np.float32)
        out = csr_matrix((data, m.indices.copy(), m.indptr.copy()), shape=m.shape)
        out.has_canonical_format = True
        return out

    def fit_idf(self, counts: csr_matrix) -> np.ndarray:
        """Learn smoothed idf weights from a training counts matrix (features never seen get 0)."""
        df = np.bincount(counts.indices, minlength=self.n_features).astype(np.float64)
        n = counts.shape[0]
        idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
        idf[df == 0] = 0.0  # a feature no training text had carries no learnt weight anyway
        self.idf = idf.astype(np.float32)
        return self.idf
