"""The matching form: every evasion the text banks rely on being undone, and nothing else changed."""

from __future__ import annotations

import pytest

from townsquare.detection.normalize import normalize, runs_cover, squeeze, token_spans, tokens


def test_full_width_letters_become_ascii() -> None:
    assert normalize("Ｈａｔｅ") == "hate"


def test_mathematical_letters_become_ascii() -> None:
    assert normalize("𝐇𝐚𝐭𝐞") == "hate"


def test_case_is_folded() -> None:
    assert normalize("HaTe STRASSE Straße") == "hate strasse strasse"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\u2063", "\ufeff", "\u00ad"],
    ids=["zwsp", "zwnj", "zwj", "word-joiner", "invisible-separator", "bom", "soft-hyphen"],
)
def test_invisible_characters_inside_a_word_are_removed(invisible: str) -> None:
    assert normalize(f"ha{invisible}te") == "hate"


@pytest.mark.parametrize(
    "text",
    ["\u200fhate\u200e", "\u202ehate\u202c", "\u2066hate\u2069", "\u202ah\u202bate"],
    ids=["rlm-lrm", "rlo-pdf", "lri-pdi", "lre-rle"],
)
def test_bidi_controls_are_removed(text: str) -> None:
    assert normalize(text) == "hate"


def test_emoji_are_untouched() -> None:
    assert normalize("I ❤️ pizza 🍕 👍🏽") == "i ❤️ pizza 🍕 👍🏽"


def test_lone_surrogate_does_not_raise() -> None:
    out = normalize("bad \ud800 text \udfff")
    assert out == "bad \ufffd text \ufffd"
    out.encode("utf-8")  # must be encodable for storage


@pytest.mark.parametrize(
    ("text", "expected"),
    [("һаtе", "hate"), ("Сrурtо", "crypto"), ("κιll", "kill"), ("ɡооd", "good"), ("don’t", "don't")],
    ids=["cyrillic", "cyrillic-upper", "greek", "latin-script-g", "curly-apostrophe"],
)
def test_confusables_fold_to_latin(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("Café naïve", "cafe naive"), ("z̷a̷l̷g̷o̷", "zalgo")])
def test_accents_are_stripped(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_non_latin_scripts_survive() -> None:
    assert normalize("한국어 텍스트") == "한국어 텍스트"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h4te", "hate"),
        ("k1ll", "kill"),
        ("n00b", "noob"),
        ("1d10t", "idiot"),
        ("h@te", "hate"),
        ("k!ll", "kill"),
        ("$hit", "shit"),
        ("h3ll0 w0rld", "hello world"),
    ],
)
def test_leetspeak_is_folded(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "in 2000",
        "covid19",
        "5g",
        "10am",
        "1st 2nd 3rd 4th",
        "send 1btc",
        "price $100",
        "@user hi",
        "mp3",
        "see https://bit.ly/3xk9 now",
        "mail j0hn@example.com",
    ],
)
def test_numbers_mentions_and_links_are_not_leetspeak(text: str) -> None:
    assert normalize(text) == text


def test_trailing_punctuation_is_not_leetspeak() -> None:
    assert normalize("k1ll y0u!!") == "kill you!!"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h a t e", "hate"),
        ("k i l l", "kill"),
        ("h.a.t.e", "hate"),
        ("h-a-t-e", "hate"),
        ("h_a_t_e", "hate"),
        ("h * a * t * e", "hate"),
        ("you are s t u p i d", "you are stupid"),
        ("h 4 t 3", "hate"),
    ],
)
def test_spaced_out_letters_are_joined(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize("text", ["i.e. this", "a b", "call 5 5 5 1 2 3", "plan a or b"])
def test_fewer_than_three_letters_or_digits_only_stay_apart(text: str) -> None:
    assert normalize(text) == text


@pytest.mark.parametrize(
    ("text", "expected"), [("haaaaate", "haate"), ("sooooo good", "soo good"), ("1000000", "1000000")]
)
def test_repeated_letters_are_squeezed_to_two(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_whitespace_is_collapsed() -> None:
    assert normalize("  one\n\n\ttwo \u3000 three  ") == "one two three"


@pytest.mark.parametrize("text", ["H 4 T 3 !!", "haaaate", "Ｋ１ＬＬ", "h.a.t.e d00d", "һаtе"])
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


def test_squeeze_to_one_for_matching_keys() -> None:
    assert squeeze("haatee kiill 1000") == "hate kil 1000"
    assert squeeze("haaaate", 2) == "haate"


def test_squeeze_rejects_zero() -> None:
    with pytest.raises(ValueError, match="max_run"):
        squeeze("x", 0)


def test_tokens_drop_apostrophes_and_punctuation() -> None:
    assert tokens("i don't hate, you!") == ["i", "dont", "hate", "you"]


def test_token_spans_index_the_normalised_text() -> None:
    text = "i don't hate"
    assert [text[a:b] for a, b in token_spans(text)] == ["i", "don't", "hate"]


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [("haate", "hate", True), ("hate", "hate", True), ("god", "good", False), ("hat", "hate", False)],
)
def test_runs_cover_tolerates_only_extra_repeats(text: str, term: str, expected: bool) -> None:
    assert runs_cover(text, term) is expected
