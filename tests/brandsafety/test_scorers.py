"""The rule scorer and the merging of sources: idioms, tiers, signals, actions, evaluation figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from townsquare.brandsafety import evaluate
from townsquare.brandsafety.scorers import Label, action_labels, merge, rule_scorer, signal_labels
from townsquare.detection.base import Signal


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(x.category, x.risk) for x in rule_scorer().score(text)]


@pytest.mark.parametrize(
    "text",
    [
        "this album is killer, every track slaps",
        "my cat is a little terrorist, she knocked everything off the shelf",
        "Give it a shot, you might like the new recipe",
        "Crack an egg into the pan and let it sizzle",
        "Lovely weather at the lake today",
    ],
)
def test_hard_negatives_carry_nothing(text: str) -> None:
    assert _pairs(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Selling a glock 19, no papers, 500 cash, dm me", ("avbNf2", "bsr001")),
        ("Police seized 2 tonnes of cocaine at the port, officials said", ("pg0WhF", "bsr004")),
        ("Got absolutely blackout drunk last night, woke up in a stranger's garden", ("pg0WhF", "bsr002")),
        ("Free download of the new movie in 4K, link in bio", ("mm3UXx", "bsr001")),
        ("f.u.c.k you, you absolute c u n t, piece of shit", ("j9PaO9", "bsr001")),
    ],
)
def test_tiers(text: str, expected: tuple[str, str]) -> None:
    assert expected in _pairs(text)


def test_a_more_specific_category_absorbs_a_secondary_one() -> None:
    assert _pairs("Uncensored photos from the terror attack, bodies everywhere") == [("8FD8nI", "bsr002")]


def test_signals_give_labels_from_their_mapped_score_and_the_floor_at_a_validated_threshold() -> None:
    bank = Signal(
        "textbank.hate_speech", "1", "hate_speech", 0.95, "match", ({"kind": "term", "match": "x"},)
    )
    low = Signal("model.hate", "1.0", None, 0.5, "flagged")
    unmapped = Signal("model.threat", "1.0", None, 0.99, "flagged")
    got = signal_labels([bank, low, unmapped], {"textbank.hate_speech": 0.9})
    assert [(x.category, x.risk) for x in got] == [("HxqYV1", "bsr001")]
    assert got[0].evidence[0]["scorer"] == "textbank.hate_speech@1"
    assert got[0].evidence[0]["match"] == "x"


def test_actions_map_their_policy_to_categories_and_merge_keeps_the_most_severe() -> None:
    acted = action_labels([("demonetise", "child_safety"), ("label", "spam"), ("remove", "ban_evasion")])
    assert {(x.category, x.risk) for x in acted} == {
        ("Rm3SiT", "bsr001"),
        ("XtODT3", "bsr001"),
        ("6i4dB6", "bsr003"),
    }
    merged = merge([Label("6i4dB6", "bsr004", ({"kind": "rule"},))], acted)
    spam = next(x for x in merged if x.category == "6i4dB6")
    assert spam.risk == "bsr003"
    assert {e["kind"] for e in spam.evidence} == {"rule", "action"}


def test_the_figures_and_the_card_section(tmp_path: Path) -> None:
    rows = [
        {"id": "1", "text": "a", "labels": [{"category": "avbNf2", "risk": "bsr001"}]},
        {"id": "2", "text": "b", "labels": []},
        {"id": "3", "text": "c", "labels": [{"category": "pg0WhF", "risk": "bsr004"}]},
    ]
    predicted = [[{"category": "avbNf2", "risk": "bsr001"}], [{"category": "avbNf2", "risk": "bsr002"}], []]
    s = evaluate.score(rows, predicted)
    arms, drugs = s["categories"]["avbNf2"], s["categories"]["pg0WhF"]
    assert (arms["precision"], arms["recall"], drugs["recall"]) == (0.5, 1.0, 0.0)
    assert s["floor_precision"] == 1.0
    assert s["safe_high_or_floor"] == 1.0
    card = tmp_path / "CARD.md"
    card.write_text("# Card\n", encoding="utf-8")
    section = evaluate.render_section({"rules": "r", "models": False, "test": s, "fresh": s})
    evaluate.update_card(card, section)
    evaluate.update_card(card, section)  # replaced, not appended twice
    text = card.read_text(encoding="utf-8")
    assert text.startswith("# Card")
    assert text.count(evaluate.START) == 1
    assert "| `avbNf2` |" in text
