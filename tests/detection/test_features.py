"""The fast tier's featuriser: its array implementation gives the rows scipy's sparse operations gave."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from townsquare.detection.features import N_FEATURES, Featurizer

TEXTS = [
    "I don't hate immigrants, I hate the people who lie about them",
    "Double your bitcoin!!! Send 1 BTC to www.example.com and get 2 BTC back 💰💰",
    "h 4 t e   speech is s p a c e d out, @someone 1234567 times",
    "",
    "...",
    "word word word word word word",
    "Lovely weather at the lake today. Lovely weather!",
]


def _reference_counts(f: Featurizer, texts: list[str]) -> csr_matrix:
    """The counts as scipy built them before: one entry per id, then `sum_duplicates`."""
    from townsquare.detection.features import model_text, tokenize

    rows: list[int] = []
    cols: list[int] = []
    for row, text in enumerate(texts):
        toks = tokenize(model_text(text))
        ids = [int(i) for tok in toks for i in f._word_ids(tok)]
        ids += [f._pair_id(a, b) for a, b in zip(toks, toks[1:], strict=False)]
        rows += [row] * len(ids)
        cols += ids
    m = csr_matrix((np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(texts), f.n_features))
    m.sum_duplicates()
    return m


def _reference_weigh(f: Featurizer, m: csr_matrix) -> csr_matrix:
    """The weighting as scipy's sparse operations did it."""
    m = m.copy()
    m.data = 1.0 + np.log(m.data)
    if f.idf is not None:
        m.data *= f.idf[m.indices]
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()
    norms = np.sqrt(np.maximum(sq, 1e-12))
    m.data /= np.repeat(norms, np.diff(m.indptr)).astype(np.float32)
    return m


def _same(a: csr_matrix, b: csr_matrix) -> None:
    assert a.shape == b.shape
    assert a.data.dtype == b.data.dtype == np.float32
    assert np.array_equal(a.indptr, b.indptr)
    assert np.array_equal(a.indices, b.indices)
    assert np.array_equal(a.data, b.data)  # bit for bit, not approximately


@pytest.fixture
def featurizer() -> Featurizer:
    rng = np.random.default_rng(20261121)
    idf = rng.uniform(1.0, 9.0, N_FEATURES).astype(np.float32)
    idf[rng.random(N_FEATURES) < 0.5] = 0.0  # features no training text had weigh nothing
    return Featurizer(N_FEATURES, idf)


def test_counts_are_the_canonical_sum_of_the_hashed_ids(featurizer: Featurizer) -> None:
    _same(featurizer.counts(TEXTS), _reference_counts(featurizer, TEXTS))


@pytest.mark.parametrize("batch", [TEXTS, TEXTS[:1], TEXTS[3:4], TEXTS[4:5]])
def test_weighted_rows_match_the_sparse_implementation_bit_for_bit(
    featurizer: Featurizer, batch: list[str]
) -> None:
    counts = featurizer.counts(batch)
    _same(featurizer.weigh(counts), _reference_weigh(featurizer, counts))


def test_a_single_post_gets_the_row_it_gets_in_a_batch(featurizer: Featurizer) -> None:
    batch = featurizer.transform(TEXTS)
    for i, text in enumerate(TEXTS):
        _same(featurizer.transform([text]), batch[i])


def test_weighing_leaves_the_callers_matrix_alone(featurizer: Featurizer) -> None:
    counts = featurizer.counts(TEXTS)
    before = counts.data.copy()
    featurizer.weigh(counts)
    assert np.array_equal(counts.data, before)
