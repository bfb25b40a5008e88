"""Statements of reasons: our mappings build valid statements and every Transparency Database rule holds."""

from __future__ import annotations

import copy
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from townsquare.enforcement.dsa import (
    ACTION_DSA,
    DSA_ENUMS,
    POLICY_DSA,
    STATEMENT_SCHEMA,
    StatementInput,
    StatementInvalid,
    build_statement,
    make_puid,
    validate_statement,
)
from townsquare.errors import Invalid

AREAS = [
    "hate_speech",
    "harassment_threats",
    "violent_extremism",
    "election_misinformation",
    "health_misinformation",
    "scams_fraud",
    "spam",
    "impersonation",
    "private_information",
    "self_harm",
    "child_safety",
    "ban_evasion",
]
ACTIONS = ["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"]
APPLIED = date(2026, 11, 21)


def make_input(**overrides: Any) -> StatementInput:
    """A valid input for a post removal; keyword overrides change single fields."""
    values: dict[str, Any] = {
        "action_type": "remove",
        "policy": "hate_speech",
        "policy_title": "Hate speech",
        "policy_version": "3",
        "rule_url": "https://townsquare.example/rules/hate-speech",
        "content_date": date(2026, 11, 20),
        "application_date": APPLIED,
        "content_language": "en",
        "source": "voluntary",
        "automated_detection": True,
        "automated_decision": "partially",
        "facts": "Two terms from the slur list matched; hate classifier score 0.97 over threshold 0.90.",
        "puid": make_puid("ts", 1),
    }
    if overrides.get("action_type") == "suspend":
        values["end_date"] = APPLIED + timedelta(days=7)
    values.update(overrides)
    return StatementInput(**values)


@pytest.fixture
def statement() -> dict[str, Any]:
    return build_statement(make_input())


def fields_of(exc: pytest.ExceptionInfo[StatementInvalid]) -> set[str]:
    return {field for field, _ in exc.value.errors}


def assert_rejected(statement: dict[str, Any], field: str) -> None:
    with pytest.raises(StatementInvalid) as exc:
        validate_statement(statement)
    assert field in fields_of(exc), exc.value.errors


# --- the schema and the mappings ------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(STATEMENT_SCHEMA)
    assert STATEMENT_SCHEMA["additionalProperties"] is False


def test_every_policy_area_and_action_is_mapped() -> None:
    assert set(POLICY_DSA) == set(AREAS)
    assert list(ACTION_DSA) == ACTIONS


def test_policy_mapping_uses_only_enum_values() -> None:
    for area in POLICY_DSA.values():
        assert area["category"] in DSA_ENUMS["STATEMENT_CATEGORIES"]
        assert set(area["category_specification"]) <= set(DSA_ENUMS["KEYWORDS"])
        assert area["decision_ground"] in DSA_ENUMS["DECISION_GROUNDS"]
        assert area.get("incompatible_content_illegal") in (None, "Yes", "No")


def test_only_child_safety_is_decided_on_the_illegal_ground() -> None:
    illegal = {k for k, v in POLICY_DSA.items() if v["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"}
    assert illegal == {"child_safety"}
    assert "2011/93/EU" in POLICY_DSA["child_safety"]["legal_ground"]
    assert POLICY_DSA["violent_extremism"]["incompatible_content_illegal"] == "Yes"


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("area", AREAS)
def test_every_area_and_action_builds_a_valid_statement(area: str, action: str) -> None:
    statement = build_statement(make_input(policy=area, action_type=action))
    validate_statement(statement)
    assert statement["category"] == POLICY_DSA[area]["category"]
    assert any(
        statement.get(name) for name in ("decision_visibility", "decision_monetary", "decision_account")
    )


# --- conditional rules ----------------------------------------------------------------------------


def test_visibility_other_needs_its_text(statement: dict[str, Any]) -> None:
    statement["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
    assert_rejected(statement, "decision_visibility_other")


def test_monetary_other_needs_its_text(statement: dict[str, Any]) -> None:
    statement["decision_monetary"] = "DECISION_MONETARY_OTHER"
    assert_rejected(statement, "decision_monetary_other")


def test_content_type_other_needs_its_text(statement: dict[str, Any]) -> None:
    statement["content_type"] = ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_OTHER"]
    assert_rejected(statement, "content_type_other")


def test_keyword_other_needs_its_text(statement: dict[str, Any]) -> None:
    statement["category_specification"] = ["KEYWORD_OTHER"]
    assert_rejected(statement, "category_specification_other")


def test_other_texts_are_accepted_when_given(statement: dict[str, Any]) -> None:
    statement["decision_visibility"] = ["DECISION_VISIBILITY_OTHER"]
    statement["decision_visibility_other"] = "Hidden behind a click-through warning"
    validate_statement(statement)


@pytest.mark.parametrize("missing", ["illegal_content_legal_ground", "illegal_content_explanation"])
def test_illegal_ground_needs_legal_ground_and_explanation(statement: dict[str, Any], missing: str) -> None:
    statement["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
    statement["illegal_content_legal_ground"] = "Directive 2011/93/EU"
    statement["illegal_content_explanation"] = "Child sexual abuse material."
    del statement[missing]
    assert_rejected(statement, missing)


@pytest.mark.parametrize("missing", ["incompatible_content_ground", "incompatible_content_explanation"])
def test_incompatible_ground_needs_ground_and_explanation(statement: dict[str, Any], missing: str) -> None:
    del statement[missing]
    assert_rejected(statement, missing)


def test_at_least_one_decision_field_is_required(statement: dict[str, Any]) -> None:
    del statement["decision_visibility"]
    with pytest.raises(StatementInvalid) as exc:
        validate_statement(statement)
    assert {
        "decision_visibility",
        "decision_monetary",
        "decision_provision",
        "decision_account",
    } <= fields_of(exc)


# --- field rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("puid", ["has space", "a/b", "a.b", "naïve", ""])
def test_puid_rejects_characters_outside_the_pattern(statement: dict[str, Any], puid: str) -> None:
    statement["puid"] = puid
    assert_rejected(statement, "puid")


def test_puid_longer_than_500_is_rejected(statement: dict[str, Any]) -> None:
    statement["puid"] = "a" * 501
    assert_rejected(statement, "puid")


def test_decision_facts_over_5000_is_rejected(statement: dict[str, Any]) -> None:
    statement["decision_facts"] = "x" * 5001
    assert_rejected(statement, "decision_facts")


def test_content_date_before_2000_is_rejected(statement: dict[str, Any]) -> None:
    statement["content_date"] = "1999-12-31"
    assert_rejected(statement, "content_date")


def test_application_date_before_2020_is_rejected(statement: dict[str, Any]) -> None:
    statement["application_date"] = "2019-12-31"
    assert_rejected(statement, "application_date")


@pytest.mark.parametrize("bad", ["2026-2-3", "2026-02-30", "21/11/2026", "2026-11-21T10:00:00"])
def test_dates_must_be_real_yyyy_mm_dd(statement: dict[str, Any], bad: str) -> None:
    statement["content_date"] = bad
    assert_rejected(statement, "content_date")


def test_end_date_before_application_is_rejected(statement: dict[str, Any]) -> None:
    statement["end_date_visibility_restriction"] = "2026-11-01"
    assert_rejected(statement, "end_date_visibility_restriction")


def test_unknown_category_is_rejected(statement: dict[str, Any]) -> None:
    statement["category"] = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"
    assert_rejected(statement, "category")


def test_unknown_keyword_is_rejected(statement: dict[str, Any]) -> None:
    statement["category_specification"] = ["KEYWORD_HATE_SPEECH", "KEYWORD_RUDENESS"]
    assert_rejected(statement, "category_specification.1")


@pytest.mark.parametrize("language", ["en", "XX", "ENG"])
def test_lower_case_or_unknown_language_is_rejected(statement: dict[str, Any], language: str) -> None:
    statement["content_language"] = language
    assert_rejected(statement, "content_language")


def test_unknown_territorial_code_is_rejected(statement: dict[str, Any]) -> None:
    statement["territorial_scope"] = ["DE", "US"]
    assert_rejected(statement, "territorial_scope.1")


def test_null_territorial_scope_is_accepted(statement: dict[str, Any]) -> None:
    statement["territorial_scope"] = None
    validate_statement(statement)


def test_additional_field_is_rejected(statement: dict[str, Any]) -> None:
    statement["post_text"] = "the original post"
    assert_rejected(statement, "post_text")


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("incompatible_content_ground", 500),
        ("incompatible_content_explanation", 2000),
        ("source_identity", 500),
    ],
)
def test_text_limits_are_enforced(statement: dict[str, Any], field: str, limit: int) -> None:
    statement[field] = "x" * (limit + 1)
    assert_rejected(statement, field)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("incompatible_content_illegal", "Maybe"),
        ("automated_detection", True),
        ("automated_decision", "AUTOMATED_DECISION_SOMETIMES"),
        ("source_type", "SOURCE_RUMOUR"),
        ("account_type", "ACCOUNT_TYPE_ROBOT"),
        ("decision_ground_reference_url", "not a url"),
        ("content_type", []),
    ],
)
def test_bad_enumerated_values_are_rejected(statement: dict[str, Any], field: str, value: Any) -> None:
    statement[field] = value
    assert_rejected(statement, field)


@pytest.mark.parametrize("field", ["decision_ground", "category", "content_type", "decision_facts", "puid"])
def test_required_fields_are_required(statement: dict[str, Any], field: str) -> None:
    del statement[field]
    assert_rejected(statement, field)


def test_statement_invalid_is_a_422_value_error_listing_every_field(statement: dict[str, Any]) -> None:
    statement["puid"] = "bad puid"
    statement["category"] = "NOPE"
    with pytest.raises(StatementInvalid) as exc:
        validate_statement(statement)
    assert isinstance(exc.value, ValueError)
    assert isinstance(exc.value, Invalid)
    assert exc.value.status == 422
    assert {"puid", "category"} <= fields_of(exc)
    assert {d["field"] for d in exc.value.detail} == fields_of(exc)


# --- what build_statement fills in ----------------------------------------------------------------


def test_suspension_carries_its_end_dates() -> None:
    ends = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    statement = build_statement(make_input(action_type="suspend", end_date=ends))
    assert statement["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert statement["decision_provision"] == "DECISION_PROVISION_TOTAL_SUSPENSION"
    assert statement["end_date_account_restriction"] == "2026-12-05"
    assert statement["end_date_service_restriction"] == "2026-12-05"


def test_suspension_without_an_end_is_refused() -> None:
    with pytest.raises(StatementInvalid) as exc:
        build_statement(make_input(action_type="suspend", end_date=None))
    assert "end_date" in fields_of(exc)


def test_ban_carries_null_end_dates() -> None:
    statement = build_statement(make_input(action_type="ban"))
    assert statement["decision_account"] == "DECISION_ACCOUNT_TERMINATED"
    assert statement["decision_provision"] == "DECISION_PROVISION_TOTAL_TERMINATION"
    assert statement["end_date_account_restriction"] is None
    assert statement["end_date_service_restriction"] is None


def test_ban_with_an_end_date_is_refused() -> None:
    with pytest.raises(StatementInvalid):
        build_statement(make_input(action_type="ban", end_date=APPLIED + timedelta(days=30)))


@pytest.mark.parametrize(
    ("action", "field", "value"),
    [
        ("label", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_LABELLED"]),
        ("reduce_reach", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_DEMOTED"]),
        ("remove", "decision_visibility", ["DECISION_VISIBILITY_CONTENT_REMOVED"]),
        ("demonetise", "decision_monetary", "DECISION_MONETARY_OTHER"),
    ],
)
def test_post_actions_map_to_their_decision(action: str, field: str, value: Any) -> None:
    statement = build_statement(make_input(action_type=action))
    assert statement[field] == value
    assert "decision_account" not in statement


def test_demonetise_describes_the_other_value() -> None:
    statement = build_statement(make_input(action_type="demonetise"))
    assert statement["decision_monetary_other"] == "Content excluded from advertising revenue"
    assert statement["end_date_monetary_restriction"] is None


def test_time_limited_post_restriction_carries_its_end() -> None:
    statement = build_statement(make_input(action_type="reduce_reach", end_date=date(2026, 12, 1)))
    assert statement["end_date_visibility_restriction"] == "2026-12-01"


@pytest.mark.parametrize(("detected", "expected"), [(True, "Yes"), (False, "No")])
def test_automated_detection_maps_to_yes_no(detected: bool, expected: str) -> None:
    assert build_statement(make_input(automated_detection=detected))["automated_detection"] == expected


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        ("fully", "AUTOMATED_DECISION_FULLY"),
        ("partially", "AUTOMATED_DECISION_PARTIALLY"),
        ("not", "AUTOMATED_DECISION_NOT_AUTOMATED"),
    ],
)
def test_automated_decision_maps_to_enum(decision: str, expected: str) -> None:
    assert build_statement(make_input(automated_decision=decision))["automated_decision"] == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("voluntary", "SOURCE_VOLUNTARY"),
        ("notice", "SOURCE_ARTICLE_16"),
        ("trusted_flagger", "SOURCE_TRUSTED_FLAGGER"),
    ],
)
def test_source_maps_to_source_type(source: str, expected: str) -> None:
    assert build_statement(make_input(source=source))["source_type"] == expected


def test_source_identity_only_for_trusted_flaggers() -> None:
    flagged = build_statement(make_input(source="trusted_flagger", source_identity="Hope Foundation"))
    voluntary = build_statement(make_input(source="voluntary", source_identity="Hope Foundation"))
    assert flagged["source_identity"] == "Hope Foundation"
    assert "source_identity" not in voluntary


@pytest.mark.parametrize(
    ("given", "expected"),
    [("en", "EN"), ("DE", "DE"), ("pt-BR", "PT"), ("und", None), (None, None), ("xx", None)],
)
def test_content_language_is_upper_cased_or_omitted(given: str | None, expected: str | None) -> None:
    assert build_statement(make_input(content_language=given)).get("content_language") == expected


def test_territorial_scope_defaults_to_every_eu_eea_country() -> None:
    assert build_statement(make_input())["territorial_scope"] == DSA_ENUMS["COUNTRIES"]
    assert build_statement(make_input(territorial_scope=None))["territorial_scope"] is None
    assert build_statement(make_input(territorial_scope=["DE", "AT", "DE"]))["territorial_scope"] == [
        "DE",
        "AT",
    ]


def test_unknown_territorial_code_fails_the_build() -> None:
    with pytest.raises(StatementInvalid) as exc:
        build_statement(make_input(territorial_scope=["FR", "GB"]))
    assert "territorial_scope.1" in fields_of(exc)


def test_facts_are_truncated_to_5000() -> None:
    statement = build_statement(make_input(facts="signal " * 2000))
    assert len(statement["decision_facts"]) == 5000


def test_facts_lose_handles_and_email_addresses() -> None:
    statement = build_statement(make_input(facts="Reported by @alice.b; contact bob@example.org."))
    assert "alice" not in statement["decision_facts"]
    assert "bob@" not in statement["decision_facts"]


def test_dates_are_utc_calendar_days() -> None:
    late_evening_east = datetime(2026, 11, 21, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    statement = build_statement(make_input(content_date=late_evening_east))
    assert statement["content_date"] == "2026-11-20"
    assert statement["application_date"] == "2026-11-21"


def test_ground_cites_rule_version_and_link() -> None:
    statement = build_statement(make_input(policy_version="7"))
    assert statement["decision_ground"] == "DECISION_GROUND_INCOMPATIBLE_CONTENT"
    assert statement["incompatible_content_ground"].endswith("version 7")
    assert statement["decision_ground_reference_url"] == "https://townsquare.example/rules/hate-speech"


def test_child_safety_uses_the_legal_ground() -> None:
    statement = build_statement(make_input(policy="child_safety", policy_title="Child safety"))
    assert statement["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert "2011/93/EU" in statement["illegal_content_legal_ground"]
    assert "incompatible_content_ground" not in statement


def test_keyword_other_areas_carry_their_description() -> None:
    statement = build_statement(make_input(policy="spam"))
    assert statement["category_specification"] == ["KEYWORD_OTHER"]
    assert statement["category_specification_other"]


def test_keywords_can_be_narrowed_per_decision() -> None:
    statement = build_statement(make_input(policy="self_harm", category_specification=["KEYWORD_SUICIDE"]))
    assert statement["category_specification"] == ["KEYWORD_SUICIDE"]


@pytest.mark.parametrize(
    ("given", "expected"), [("private", "ACCOUNT_TYPE_PRIVATE"), ("business", "ACCOUNT_TYPE_BUSINESS")]
)
def test_account_type_maps_to_enum(given: str, expected: str) -> None:
    assert build_statement(make_input(account_type=given))["account_type"] == expected


@pytest.mark.parametrize(
    ("field", "overrides"), [("policy", {"policy": "rudeness"}), ("action_type", {"action_type": "shame"})]
)
def test_unknown_policy_or_action_names_the_field(field: str, overrides: dict[str, str]) -> None:
    with pytest.raises(StatementInvalid) as exc:
        build_statement(make_input(**overrides))
    assert field in fields_of(exc)


def test_built_statement_is_independent_of_the_mapping() -> None:
    statement = build_statement(make_input(action_type="label"))
    before = copy.deepcopy(ACTION_DSA)
    statement["decision_visibility"].append("DECISION_VISIBILITY_OTHER")
    assert before == ACTION_DSA


# --- PUIDs ----------------------------------------------------------------------------------------


def test_puids_are_unique_over_10000_calls() -> None:
    puids = {make_puid("ts", 7) for _ in range(10_000)}
    assert len(puids) == 10_000


def test_puids_match_the_pattern_and_limit() -> None:
    puid = make_puid("ts", "post/42 é", platform="main.example")
    assert re.fullmatch(r"[a-zA-Z0-9_-]+", puid)
    assert puid.startswith("ts-main-example-post-42-")
    assert len(make_puid("x" * 900, 1)) <= 500
