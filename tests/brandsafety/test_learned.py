"""The learned check on the rule labels: hard negatives dropped, floor kept, never a floor of its own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from townsquare.brandsafety import learned
from townsquare.brandsafety import taxonomy as tx
from townsquare.brandsafety.labeller import Labeller
from townsquare.brandsafety.scorers import Label
from townsquare.config import Settings

pytestmark = pytest.mark.skipif(learned.learned_model() is None, reason="models/brandsafety not trained")


@pytest.fixture(scope="module")
def labeller() -> Labeller:
    # No text banks and no detection models: the rules and the learned check alone.
    return Labeller([], None, learned.learned_model())


def _pairs(labeller: Labeller, text: str) -> list[tuple[str, str]]:
    return [(x.category, x.risk) for x in labeller.label([text])[0]]


@pytest.mark.parametrize(
    "text",
    [
        "this album is killer, every track slaps",
        "my cat is a little terrorist, she knocked everything off the shelf",
        "we smashed the pub quiz last night, first place",
        "a murder of crows lives in the oak behind our house",
        "the comedian absolutely killed it, I was crying",
        "price war between the two supermarkets, milk is cheaper",
        "grilled chicken breast with lemon and herbs",
    ],
)
def test_hard_negatives_carry_nothing(labeller: Labeller, text: str) -> None:
    assert _pairs(labeller, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Selling a glock 19, no papers, 500 cash, dm me", ("avbNf2", tx.FLOOR)),
        ("DM me for my onlyfans link, full nude vids, prices in bio", ("Rm3SiT", tx.FLOOR)),
        ("Free download of the new movie in 4K, link in bio", ("mm3UXx", tx.FLOOR)),
    ],
)
def test_a_floor_post_keeps_the_floor(labeller: Labeller, text: str, expected: tuple[str, str]) -> None:
    assert expected in _pairs(labeller, text)


def test_the_learned_check_is_recorded_in_the_evidence(labeller: Labeller) -> None:
    [label] = labeller.label(["Selling a glock 19, no papers, 500 cash, dm me"])[0]
    kinds = [e["kind"] for e in label.evidence]
    assert "rule" in kinds
    assert "model" in kinds
    assert labeller.version().startswith("brandsafety.rules@")
    assert "brandsafety.learned@" in labeller.version()


def test_the_model_alone_never_gives_the_floor() -> None:
    model = learned.learned_model()
    assert model is not None
    texts = [
        "watch the video of the man burning alive, the screaming is insane, uncut",
        "anyone know a site to watch the match tonight without paying?",
        "selling lifetime access to every sports channel, message me",
    ]
    for labels in model.refine(texts, [[] for _ in texts]):
        assert all(x.risk != tx.FLOOR for x in labels)


def test_a_rule_label_the_model_rejects_is_dropped_and_one_it_confirms_keeps_its_risk() -> None:
    model = learned.learned_model()
    assert model is not None
    rule = ({"kind": "rule", "match": "x"},)
    texts = ["my phone battery dies by noon", "Selling a glock 19, no papers, 500 cash, dm me"]
    base = [[Label("I4GWl6", tx.MEDIUM, rule)], [Label("avbNf2", tx.FLOOR, rule)]]
    dropped, kept = model.refine(texts, base)
    assert dropped == []
    assert [(x.category, x.risk) for x in kept] == [("avbNf2", tx.FLOOR)]


def test_models_off_leaves_the_rules_alone() -> None:
    assert learned.for_settings(Settings(models_enabled=False)) is None
    base = [[Label("I4GWl6", tx.MEDIUM)]]
    assert learned.refine(None, ["my phone battery dies by noon"], base) == base


def test_the_artifact_is_small_and_round_trips(tmp_path: Path) -> None:
    model = learned.learned_model()
    assert model is not None
    assert learned.MODEL_FILE.stat().st_size < 5_000_000
    path = tmp_path / "labels.npz"
    model.save(path, {})
    again = learned.LearnedModel.load(path, model.encoder)
    texts = ["Selling a glock 19, no papers, 500 cash, dm me", "lovely walk by the river"]
    a, _, _ = model.text_scores(texts, [{}, {}])
    b, _, _ = again.text_scores(texts, [{}, {}])
    assert np.allclose(a, b)
    assert (again.threshold, again.gate) == (model.threshold, model.gate)
    assert again.floor_threshold == model.floor_threshold


def test_a_rule_floor_on_a_news_report_is_lowered() -> None:
    model = learned.learned_model()
    assert model is not None
    text = "Researchers say most teenagers first see pornography before 13, the study found"
    base = [[Label("Rm3SiT", tx.FLOOR, ({"kind": "rule", "match": "pornography"},))]]
    [[label]] = model.refine([text], base)
    assert label.risk == tx.LOW
    assert label.evidence[-1]["demoted"] == "news or education"


def test_a_graphic_but_legal_post_the_rules_floor_is_demoted_to_high(labeller: Labeller) -> None:
    # Watching a beheading clip is graphic (high): no sale, solicitation or incitement (floor).
    text = (
        "someone reposted the beheading clip in the group chat, I watched it twice, wild how calm he stayed"
    )
    labels = labeller.label([text])[0]
    assert ("I4GWl6", tx.FLOOR) in [(x.category, x.risk) for x in labeller.base([text])[0]]
    [terror] = [x for x in labels if x.category == "I4GWl6"]
    assert terror.risk == tx.HIGH
    assert terror.evidence[-1]["demoted"] == learned.NOT_FLOOR
    assert all(x.risk != tx.FLOOR for x in labels)


def test_the_floor_check_only_demotes_when_its_log_odds_are_under_the_threshold() -> None:
    model = learned.learned_model()
    assert model is not None
    assert model.floor_threshold is not None
    text = ["Selling a glock 19, no papers, 500 cash, dm me"]
    base = [[Label("avbNf2", tx.FLOOR, ({"kind": "rule", "match": "glock"},))]]
    for thr, risk in ((None, tx.FLOOR), (-30.0, tx.FLOOR), (30.0, tx.HIGH)):
        strict = learned.LearnedModel(**{**model.__dict__, "floor_threshold": thr})
        [[label]] = strict.refine(text, base)
        assert label.risk == risk


def test_per_category_features_add_a_bias_and_a_found_weight_per_category() -> None:
    k = len(tx.CATEGORY_IDS)
    logits = np.zeros((1, k))
    found = [{"XtODT3": tx.HIGH}]
    pooled = learned.stack_features(logits, found)
    full = learned.stack_features(logits, found, per_category=True)
    assert pooled.shape == (k, 6)
    assert full.shape == (k, 6 + 2 * k)
    j = tx.CATEGORY_IDS.index("XtODT3")
    assert np.array_equal(full[:, :6], pooled)
    assert full[j, 6 + j] == 1.0
    assert full[j, 6 + k + j] == 1.0
    other = (j + 1) % k
    assert full[other, 6 + other] == 1.0
    assert full[other, 6 + k :].sum() == 0.0
    assert not learned.per_category(np.zeros(7))
    assert learned.per_category(np.zeros(7 + 2 * k))


def test_a_pooled_combiner_still_scores_alongside_a_per_category_one() -> None:
    model = learned.learned_model()
    assert model is not None
    k = len(tx.CATEGORY_IDS)
    pooled = np.concatenate([np.array([1.0, 2.0, 0.0, 0.0, 0.0, 0.0]), [-1.0]])
    model = learned.LearnedModel(**{**model.__dict__, "fast_combiner": pooled, "fast_threshold": 0.5})
    logits = np.zeros((2, k))
    found = [{"XtODT3": tx.HIGH}, {}]
    margin = model.probabilities(logits, found, np.array([False, False]))
    j = tx.CATEGORY_IDS.index("XtODT3")
    assert margin[0, j] > 0 > margin[1, j]
