"""Evidence a moderator can use: the phrases that raised a score, never a function word alone."""

from __future__ import annotations

import pytest

from tests.detection.conftest import MODELS
from townsquare.detection.fast import FUNCTION_WORDS, FastTier, phrases
from townsquare.detection.features import model_text, tokenize


def test_a_function_word_is_never_evidence_alone() -> None:
    toks = ["the", "a", "rep", "@user", "kill", "you", "today"]
    got = phrases(toks, [3.0, 2.0, 2.5, 2.0, 1.0, 0.5, 0.2])
    assert [e["match"] for e in got] == ["kill you today"]
    assert all(e["kind"] == "phrase" for e in got)


def test_adjacent_contributing_words_form_one_phrase() -> None:
    toks = ["i", "will", "burn", "your", "house", "down", "today"]
    got = phrases(toks, [0.1, 0.2, 1.0, 0.3, 0.8, 0.1, -0.5])
    assert got[0]["match"] == "burn your house"
    assert got[0]["weight"] == pytest.approx(2.1)
    assert all(not set(e["match"].split()) <= FUNCTION_WORDS for e in got)


def test_phrases_do_not_overlap_or_repeat() -> None:
    toks = ["scam", "link", "scam", "link", "scam", "link"]
    got = phrases(toks, [1.0] * 6, top=5)
    assert [e["match"] for e in got] == ["scam link scam", "link scam link"]
    assert sum(len(e["match"].split()) for e in got) <= len(toks)


@pytest.mark.parametrize(
    ("head", "text"),
    [
        ("threat", "And I don't plan on staying the night but I prolly won't be back til late"),
        ("threat", "If we hit it off, you can move in with me :)"),
        ("misinformation", "Rep. Smith says the vaccine causes autism"),
        ("abuse", "you are a pathetic idiot and the whole town knows it"),
    ],
)
def test_model_evidence_names_content_phrases(head: str, text: str) -> None:
    tier = FastTier(MODELS)
    got = tier.explainer(text).evidence(head)
    assert got, "a text with positive contributions has evidence"
    words = set(tokenize(model_text(text)))
    for e in got:
        parts = e["match"].split()
        assert set(parts) <= words
        assert parts[0] not in FUNCTION_WORDS
        assert parts[-1] not in FUNCTION_WORDS
    assert not any(e["match"] in ("rep", "the", "a", "won't") for e in got)
