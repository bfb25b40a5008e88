"""The known-false-claims library: validation and BM25 matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from townsquare.config import PROJECT_ROOT
from townsquare.detection.claims import TOPIC_POLICY, ClaimMatcher, ClaimsError, load_claims

GOOD = """topic: election_procedures
claims:
  - id: ep-test-one
    text: Voters can cast their ballot by sending a text message to the election office.
    verdict: "false"
    source: https://example.org/fact-check/one
    language: en
"""


def _write(tmp_path: Path, name: str, body: str) -> Path:
    d = tmp_path / "claims"
    d.mkdir(exist_ok=True)
    (d / name).write_text(body, encoding="utf-8")
    return d


def test_the_library_meets_the_issue_minimums() -> None:
    claims = load_claims(PROJECT_ROOT / "claims")
    assert len(claims) >= 150
    by_topic: dict[str, int] = {}
    for c in claims:
        by_topic[c.topic] = by_topic.get(c.topic, 0) + 1
        assert c.source.startswith("https://")
    assert set(by_topic) == set(TOPIC_POLICY)
    assert min(by_topic.values()) >= 20
    texts = [c.text.lower() for c in claims]
    assert len(set(texts)) == len(texts)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (GOOD.replace("ep-test-one", "EP Test"), "lowercase slug"),
        (GOOD.replace('"false"', "maybe"), "verdict"),
        (GOOD.replace("https://example.org/fact-check/one", "http://example.org/x"), "https://"),
        (GOOD.replace("    language: en\n", ""), "'language' is required"),
        (GOOD.replace("topic: election_procedures", "topic: gardening"), "topic"),
        ("claims: [", "not valid YAML"),
    ],
)
def test_malformed_claims_are_refused_naming_the_field(tmp_path: Path, body: str, message: str) -> None:
    d = _write(tmp_path, "election_procedures.yaml", body)
    with pytest.raises(ClaimsError, match=message):
        load_claims(d)


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "election_procedures.yaml", GOOD)
    d = _write(tmp_path, "election_results.yaml", GOOD.replace("election_procedures", "election_results"))
    with pytest.raises(ClaimsError, match="already used"):
        load_claims(d)


def test_a_reworded_post_finds_its_claim_first() -> None:
    matcher = ClaimMatcher(load_claims(PROJECT_ROOT / "claims"))
    sims = matcher.similarities(["5G phone masts are what is really spreading the coronavirus, wake up"])
    top = matcher.top(sims, k=3)[0]
    assert top[0].claim.topic == "health_covid"
    assert "5g" in top[0].claim.id
    assert matcher.similarities(["I had pancakes for breakfast"]).max() < 0.2
