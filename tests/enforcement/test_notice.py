"""The notice to the affected person names the restriction, the rule, the evidence and how to appeal."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from townsquare.enforcement.dsa import StatementInput, build_statement, make_puid
from townsquare.enforcement.notice import render_notice

APPLIED = date(2026, 11, 21)
DEADLINE = date(2027, 5, 21)
APPEAL_URL = "https://townsquare.example/appeals/42"
RULE_URL = "https://townsquare.example/rules/hate-speech"
EVIDENCE = [
    {"kind": "term", "match": "vermin", "bank": "dehumanising-terms-en"},
    {"kind": "classifier", "scorer": "hate-fast", "version": "1.4.0", "score": 0.97, "threshold": 0.9},
]


def make_statement(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "action_type": "remove",
        "policy": "hate_speech",
        "policy_title": "Hate speech",
        "policy_version": "3",
        "rule_url": RULE_URL,
        "content_date": APPLIED - timedelta(days=1),
        "application_date": APPLIED,
        "content_language": "en",
        "source": "voluntary",
        "automated_detection": True,
        "automated_decision": "partially",
        "facts": "A dehumanising term matched and the hate classifier scored 0.97.",
        "puid": make_puid("ts", 42),
    }
    values.update(overrides)
    return build_statement(StatementInput(**values))


def notice(statement: dict[str, Any] | None = None, **overrides: Any) -> str:
    kwargs: dict[str, Any] = {
        "policy_title": "Hate speech",
        "policy_definition": "We do not allow attacks on people because of a protected characteristic.",
        "evidence": EVIDENCE,
        "appeal_url": APPEAL_URL,
        "appeal_deadline": DEADLINE,
        "post_excerpt": "They are vermin and should leave.",
    }
    kwargs.update(overrides)
    return render_notice(statement or make_statement(), **kwargs)


def test_notice_names_the_rule_version_definition_and_link() -> None:
    text = notice()
    assert "Rule broken: Hate speech (version 3)" in text
    assert "We do not allow attacks on people" in text
    assert RULE_URL in text


def test_rule_version_can_be_given_explicitly() -> None:
    assert "(version 9)" in notice(policy_version="9")


def test_notice_lists_the_evidence() -> None:
    text = notice()
    assert '"vermin"' in text
    assert "dehumanising-terms-en" in text
    assert "hate-fast version 1.4.0" in text
    assert "0.97" in text
    assert "A dehumanising term matched" in text  # the statement's facts


def test_notice_shows_the_post_excerpt_only_when_given() -> None:
    assert "> They are vermin and should leave." in notice()
    assert "The post concerned" not in notice(post_excerpt=None)


def test_notice_says_what_was_restricted() -> None:
    text = notice()
    assert "Your post has been removed" in text
    assert "all countries of the European Union" in text


def test_suspension_notice_gives_the_end_date() -> None:
    statement = make_statement(action_type="suspend", end_date=date(2026, 12, 5))
    text = notice(statement, post_excerpt=None)
    assert "Your account has been suspended. Duration: until 5 December 2026." in text
    assert "your account on Townsquare" in text


def test_ban_notice_says_permanent() -> None:
    text = notice(make_statement(action_type="ban"), post_excerpt=None)
    assert "Your account has been permanently closed. Duration: permanent." in text


def test_demonetise_notice_explains_the_earnings_restriction() -> None:
    text = notice(make_statement(action_type="demonetise"))
    assert "Restriction on earnings: content excluded from advertising revenue" in text


@pytest.mark.parametrize(
    ("source", "detected", "expected"),
    [
        ("voluntary", True, "Our automated systems detected it."),
        ("voluntary", False, "Our moderation team found it during its own review."),
        ("notice", False, "Someone reported it to us (a notice under Article 16"),
        ("trusted_flagger", False, "A trusted flagger"),
    ],
)
def test_notice_names_the_detection_method(source: str, detected: bool, expected: str) -> None:
    statement = make_statement(source=source, automated_detection=detected)
    assert expected in notice(statement)


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ("fully", "made by automated means, with no person reviewing it"),
        ("partially", "a person on our moderation team was involved"),
        ("not", "A person on our moderation team made the decision."),
    ],
)
def test_notice_says_whether_a_person_decided(decision: str, expected: str) -> None:
    assert expected in notice(make_statement(automated_decision=decision))


def test_notice_explains_how_to_appeal() -> None:
    text = notice()
    assert APPEAL_URL in text
    assert "until 21 May 2027" in text
    assert "not involved in the original decision" in text
    assert "Article 21" in text
    assert "out-of-court dispute settlement" in text


def test_appeal_window_shorter_than_six_months_is_refused() -> None:
    with pytest.raises(ValueError, match="six months"):
        notice(appeal_deadline=date(2027, 5, 20))


def test_six_month_window_clamps_to_month_end() -> None:
    statement = make_statement(application_date=date(2026, 8, 31), content_date=date(2026, 8, 30))
    assert "28 February 2027" in notice(statement, appeal_deadline=date(2027, 2, 28))
    with pytest.raises(ValueError, match="six months"):
        notice(statement, appeal_deadline=date(2027, 2, 27))


def test_illegal_content_notice_gives_the_legal_ground() -> None:
    statement = make_statement(policy="child_safety", policy_title="Child safety")
    text = notice(statement, policy_title="Child safety", post_excerpt=None)
    assert "illegal under Directive 2011/93/EU" in text
    assert "Rule broken: Child safety (version 3)" in text


def test_notice_carries_the_reference_and_no_template_residue() -> None:
    statement = make_statement()
    text = notice(statement)
    assert statement["puid"] in text
    assert "{{" not in text
    assert "{%" not in text
