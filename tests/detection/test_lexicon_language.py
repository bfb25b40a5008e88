"""The identity-term lexicon (hate targets) and language identification."""

from __future__ import annotations

import pytest

from townsquare.detection.language import LanguageDetector
from townsquare.detection.lexicon import IdentityLexicon, default_lexicon


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("Muslims are ruining this country", "religion"),
        ("those r3fug3es should go home", "national_origin"),
        ("I'm a proud gay man", "sexual_orientation"),
        ("trans women are women", "gender_identity"),
        ("wheelchair users deserve ramps", "disability"),
        ("Black women founded this movement", "race_ethnicity"),
        ("The weather is lovely today", None),
    ],
)
def test_target_is_the_group_named(text: str, target: str | None) -> None:
    assert default_lexicon().target(text)[0] == target


def test_longest_term_wins_and_counts_decide() -> None:
    lex = IdentityLexicon({"race_ethnicity": ["black people"], "gender": ["women", "woman"]})
    found = lex.mentions("black people and women and one woman")
    assert [m.term for m in found] == ["black people", "women", "woman"]
    assert lex.target("black people and women and one woman")[0] == "gender"


def test_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown identity categories"):
        IdentityLexicon({"hobbies": ["knitters"]})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Voting is on Tuesday, bring your ID if you registered recently", "en"),
        ("Hola amigos, ¿cómo están todos hoy? Vamos a la playa mañana", "es"),
        ("Ich glaube, das ist eine gute Idee für uns alle", "de"),
        ("Je pense que c'est une très bonne idée pour nous", "fr"),
        ("lol", "und"),
    ],
)
def test_language_detection(text: str, language: str) -> None:
    assert LanguageDetector().detect(text).language == language
