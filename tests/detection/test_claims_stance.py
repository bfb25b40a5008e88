"""The stance screen: corrections, questions and reports about a claim are not the claim."""

from __future__ import annotations

import pytest

from townsquare.detection.claims import Claim, ClaimMatch
from townsquare.detection.claims_model import ClaimModel
from townsquare.detection.claims_stance import FACTORS, stance

DOMINION = "Dominion voting machines secretly switched hundreds of thousands of votes from Trump to Biden."
HOAX = "Videos of empty hospital lobbies and parking lots prove that the COVID-19 pandemic is a hoax."


@pytest.mark.parametrize(
    ("text", "label"),
    [
        (
            "Dominion machines flipped votes from Trump to Biden, hundreds of thousands of them. Wake up!",
            "asserts",
        ),
        ("Fact check: Dominion machines did not switch votes. Hand recounts matched.", "refutes"),
        ("No, Dominion didn't flip votes to Biden. That story was debunked months ago.", "refutes"),
        ("Did Dominion machines really switch votes from Trump to Biden? Asking honestly.", "asks"),
        ("Why did Dominion switch all those votes to Biden? Because they were paid to.", "asserts"),
        (
            "Fox News settled the Dominion defamation lawsuit over claims its machines switched votes.",
            "reports",
        ),
    ],
)
def test_stance_toward_a_claim(text: str, label: str) -> None:
    assert stance(text, DOMINION).label == label


def test_a_cue_word_the_claim_itself_uses_does_not_make_a_correction() -> None:
    assert (
        stance("Empty hospital parking lots everywhere. The pandemic is a hoax, film yours!", HOAX).label
        == "asserts"
    )
    assert stance(
        "The hospital parking lot photos are a hoax of their own: the wards were full.", DOMINION
    ).label == ("refutes")


def test_the_screen_scales_every_match_of_a_post_alike() -> None:
    claims = [
        Claim("er-a", DOMINION, "false", "https://x.org/a", "election_results", "en"),
        Claim(
            "er-b",
            "Fake ballots were counted in Detroit after midnight.",
            "false",
            "https://x.org/b",
            "election_results",
            "en",
        ),
    ]
    model = ClaimModel.__new__(ClaimModel)
    model.bm25_threshold = 0.5
    found = [[ClaimMatch(claims[0], 0.9, "bm25"), ClaimMatch(claims[1], 0.6, "bm25")]]
    out = model.screen(["Fake news: Dominion never switched votes from Trump to Biden."], found)[0]
    assert [m.claim.id for m in out] == ["er-a", "er-b"]
    assert [m.stance for m in out] == ["refutes", "refutes"]
    assert out[0].similarity == pytest.approx(0.9 * FACTORS["refutes"])
    assert out[1].similarity == pytest.approx(0.6 * FACTORS["refutes"])
