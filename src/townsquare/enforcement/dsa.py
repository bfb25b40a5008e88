"""EU DSA statements of reasons: the Transparency Database rules, our mappings to them, and the builder."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, Final, Literal

from jsonschema import Draft202012Validator, ValidationError

from townsquare.errors import Invalid

_PACKAGE = "townsquare.enforcement"


def _load_json(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(resources.files(_PACKAGE).joinpath(name).read_text("utf-8"))
    return data


DSA_ENUMS: Final[dict[str, list[str]]] = _load_json("dsa_enums.json")
_POLICY_DATA = _load_json("policy_dsa.json")
POLICY_DSA: Final[dict[str, dict[str, Any]]] = _POLICY_DATA["areas"]

VISIBILITY_OTHER: Final = "DECISION_VISIBILITY_OTHER"
MONETARY_OTHER: Final = "DECISION_MONETARY_OTHER"
CONTENT_TYPE_OTHER: Final = "CONTENT_TYPE_OTHER"
KEYWORD_OTHER: Final = "KEYWORD_OTHER"
GROUND_ILLEGAL: Final = "DECISION_GROUND_ILLEGAL_CONTENT"
GROUND_INCOMPATIBLE: Final = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
PUID_PATTERN: Final = r"^[a-zA-Z0-9-_]+$"
DECISION_FIELDS: Final = (
    "decision_visibility",
    "decision_monetary",
    "decision_provision",
    "decision_account",
)
END_DATE_FIELDS: Final = (
    "end_date_account_restriction",
    "end_date_monetary_restriction",
    "end_date_service_restriction",
    "end_date_visibility_restriction",
)
# The Transparency Database rejects anything earlier; JSON Schema cannot compare dates, so Python does.
MIN_DATES: Final = {"content_date": date(2000, 1, 1), "application_date": date(2020, 1, 1)}
_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _enum(key: str) -> dict[str, Any]:
    return {"type": "string", "enum": DSA_ENUMS[key]}


def _enum_array(key: str, min_items: int = 0) -> dict[str, Any]:
    return {"type": "array", "minItems": min_items, "uniqueItems": True, "items": _enum(key)}


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _date_field(nullable: bool = False) -> dict[str, Any]:
    # "pattern" pins the exact YYYY-MM-DD shape; "format" rejects impossible days such as 2021-02-30.
    return {"type": ["string", "null"] if nullable else "string", "pattern": _DATE_PATTERN, "format": "date"}


# (field, "contains" for arrays or "is" for single values, trigger value, fields then required)
_CONDITIONS: Final = (
    ("decision_visibility", "contains", VISIBILITY_OTHER, ["decision_visibility_other"]),
    ("decision_monetary", "is", MONETARY_OTHER, ["decision_monetary_other"]),
    (
        "decision_ground",
        "is",
        GROUND_ILLEGAL,
        ["illegal_content_legal_ground", "illegal_content_explanation"],
    ),
    (
        "decision_ground",
        "is",
        GROUND_INCOMPATIBLE,
        ["incompatible_content_ground", "incompatible_content_explanation"],
    ),
    ("content_type", "contains", CONTENT_TYPE_OTHER, ["content_type_other"]),
    ("category_specification", "contains", KEYWORD_OTHER, ["category_specification_other"]),
)


def _conditional_rules() -> list[dict[str, Any]]:
    rules = []
    for prop, test, value, fields in _CONDITIONS:
        match = {"type": "array", "contains": {"const": value}} if test == "contains" else {"const": value}
        condition = {"required": [prop], "properties": {prop: match}}
        # "description" rides along on the error so the message can say when the field is required.
        rules.append(
            {"if": condition, "then": {"required": fields, "description": f"when {prop} {test} {value}"}}
        )
    return rules


def _properties() -> dict[str, Any]:
    return {
        "decision_visibility": _enum_array("DECISION_VISIBILITIES", min_items=1),
        "decision_visibility_other": _text(500),
        "decision_monetary": _enum("DECISION_MONETARIES"),
        "decision_monetary_other": _text(500),
        "decision_provision": _enum("DECISION_PROVISIONS"),
        "decision_account": _enum("DECISION_ACCOUNTS"),
        "account_type": _enum("ACCOUNT_TYPES"),
        "decision_ground": _enum("DECISION_GROUNDS"),
        # format "uri" is only enforced when an RFC 3987 checker is installed, so the pattern backs it up.
        "decision_ground_reference_url": {
            "type": "string",
            "format": "uri",
            "pattern": r"^https?://\S+$",
            "maxLength": 500,
        },
        "illegal_content_legal_ground": _text(500),
        "illegal_content_explanation": _text(2000),
        "incompatible_content_ground": _text(500),
        "incompatible_content_explanation": _text(2000),
        "incompatible_content_illegal": _enum("INCOMPATIBLE_CONTENT_ILLEGALS"),
        "content_type": _enum_array("CONTENT_TYPES", min_items=1),
        "content_type_other": _text(500),
        "category": _enum("STATEMENT_CATEGORIES"),
        "category_addition": _enum_array("STATEMENT_CATEGORIES"),
        "category_specification": _enum_array("KEYWORDS"),
        "category_specification_other": _text(500),
        "territorial_scope": {"type": ["array", "null"], "uniqueItems": True, "items": _enum("COUNTRIES")},
        "content_language": _enum("LANGUAGES"),
        "content_date": _date_field(),
        "application_date": _date_field(),
        **{name: _date_field(nullable=True) for name in END_DATE_FIELDS},
        "decision_facts": _text(5000),
        "source_type": _enum("SOURCE_TYPES"),
        "source_identity": {"type": "string", "maxLength": 500},
        "automated_detection": _enum("AUTOMATED_DETECTIONS"),
        "automated_decision": _enum("AUTOMATED_DECISIONS"),
        "puid": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": PUID_PATTERN},
        "content_id": {
            "type": "object",
            "properties": {"EAN-13": {"type": "string", "pattern": r"^[0-9]{13}$"}},
            "additionalProperties": False,
        },
    }


def _build_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://townsquare.example/schemas/dsa-statement-of-reasons.json",
        "title": "DSA Transparency Database statement of reasons (v2)",
        "type": "object",
        "properties": _properties(),
        "required": [
            "decision_ground",
            "content_type",
            "category",
            "content_date",
            "application_date",
            "decision_facts",
            "source_type",
            "automated_detection",
            "automated_decision",
            "puid",
        ],
        "anyOf": [{"required": [name]} for name in DECISION_FIELDS],
        "allOf": _conditional_rules(),
        "additionalProperties": False,
    }


STATEMENT_SCHEMA: Final[dict[str, Any]] = _build_schema()
_VALIDATOR = Draft202012Validator(STATEMENT_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER)


class StatementInvalid(Invalid, ValueError):
    """A statement of reasons breaks the Transparency Database rules; `errors` lists (field, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        summary = "; ".join(f"{f}: {m}" for f, m in errors[:5])
        super().__init__(
            f"invalid statement of reasons: {summary}",
            detail=[{"field": f, "message": m} for f, m in errors],
        )


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _describe(err: ValidationError, base: str) -> list[tuple[str, str]]:
    """Turn one schema error into (field, message) pairs that name the offending field."""
    value: Any = err.validator_value
    instance: Any = err.instance
    schema: dict[str, Any] = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "required":
        why = f" {schema['description']}" if "description" in schema else ""
        return [(_join(base, n), f"is required{why}") for n in value if n not in instance]
    if err.validator == "anyOf" and all("required" in sub for sub in value):
        names = [n for sub in value for n in sub["required"]]
        msg = "at least one of " + ", ".join(names) + " is required"
        return [(_join(base, n), msg) for n in names]
    if err.validator == "additionalProperties":
        known = schema.get("properties", {})
        return [(_join(base, n), "is not an accepted field") for n in instance if n not in known]
    field_name = base or "(statement)"
    if err.validator == "maxLength":
        return [(field_name, f"must be at most {value} characters")]
    if err.validator == "pattern":
        return [(field_name, f"must match {value}")]
    if err.validator == "enum":
        return [(field_name, f"{str(instance)[:80]!r} is not an accepted value")]
    return [(field_name, err.message[:200])]


def _parse_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.fullmatch(_DATE_PATTERN, value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _date_errors(statement: dict[str, Any]) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    for name, floor in MIN_DATES.items():
        day = _parse_date(statement.get(name))
        if day is not None and day < floor:
            errors.append((name, f"must be on or after {floor.isoformat()}"))
    applied = _parse_date(statement.get("application_date"))
    for name in END_DATE_FIELDS:
        end = _parse_date(statement.get(name))
        # A restriction cannot end before it was applied; the database has long enforced this for end dates.
        if end is not None and applied is not None and end < applied:
            errors.append((name, "must be on or after application_date"))
    return errors


def validate_statement(statement: dict[str, Any]) -> None:
    """Check a statement against the Transparency Database rules; raise StatementInvalid naming each field."""
    errors: list[tuple[str, str]] = []
    for err in sorted(_VALIDATOR.iter_errors(statement), key=lambda e: [str(p) for p in e.absolute_path]):
        errors.extend(_describe(err, ".".join(str(p) for p in err.absolute_path)))
    if isinstance(statement, dict):
        errors.extend(_date_errors(statement))
    if errors:
        # jsonschema reports a missing field once per rule that requires it; report it once.
        raise StatementInvalid(list(dict.fromkeys(errors)))


ActionType = Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"]
Source = Literal["voluntary", "notice", "trusted_flagger"]
Automation = Literal["fully", "partially", "not"]

# Each action's decision fields, end-date fields and duration rule; the reasoning (e.g. why demonetise is
# DECISION_MONETARY_OTHER) is kept beside the data in policy_dsa.json.
ACTION_DSA: Final[dict[str, dict[str, Any]]] = _POLICY_DATA["actions"]
SOURCE_DSA: Final[dict[str, str]] = {
    "voluntary": "SOURCE_VOLUNTARY",
    "notice": "SOURCE_ARTICLE_16",
    "trusted_flagger": "SOURCE_TRUSTED_FLAGGER",
}
AUTOMATION_DSA: Final[dict[str, str]] = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
ACCOUNT_TYPE_DSA: Final[dict[str, str]] = {
    "business": "ACCOUNT_TYPE_BUSINESS",
    "private": "ACCOUNT_TYPE_PRIVATE",
}


@dataclass(kw_only=True)
class StatementInput:
    """What build_statement needs about one action; it must hold no personal data."""

    action_type: ActionType
    policy: str
    policy_title: str
    policy_version: str
    rule_url: str | None = None
    content_date: date | datetime
    application_date: date | datetime
    end_date: date | datetime | None = None
    content_language: str | None = None
    source: Source
    automated_detection: bool
    automated_decision: Automation
    facts: str
    puid: str
    territorial_scope: list[str] | None = field(default_factory=lambda: list(DSA_ENUMS["COUNTRIES"]))
    account_type: str | None = None
    # Only for trusted flaggers: an organisation's name is not personal data, a notifier's name is.
    source_identity: str | None = None
    # Narrows the area's keywords to those that fit this decision; None uses the area's full list.
    category_specification: list[str] | None = None


def _as_date(value: date | datetime) -> date:
    if isinstance(value, datetime):
        # Naive datetimes are taken as UTC, the project's storage convention.
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return value


def _clip(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


def _redact(text: str) -> str:
    # Art 24(5) forbids personal data in submissions; callers should pass none, this catches slips.
    return _HANDLE.sub("[handle]", _EMAIL.sub("[email]", text))


def _language(code: str | None) -> str | None:
    if not code:
        return None
    base = re.split(r"[-_]", code.strip(), maxsplit=1)[0].upper()
    return base if base in DSA_ENUMS["LANGUAGES"] else None


def _lookup(table: dict[str, Any], key: str | None, field_name: str) -> Any:
    if key is None or key not in table:
        raise StatementInvalid([(field_name, f"{key!r} is not one of {', '.join(table)}")])
    return table[key]


def _decision_fields(inp: StatementInput) -> dict[str, Any]:
    action = _lookup(ACTION_DSA, inp.action_type, "action_type")
    if action["duration"] == "required" and inp.end_date is None:
        raise StatementInvalid([("end_date", f"is required for {inp.action_type} (it is temporary)")])
    if action["duration"] == "permanent" and inp.end_date is not None:
        raise StatementInvalid([("end_date", f"must be None for {inp.action_type} (it is permanent)")])
    # An explicit null tells the database the restriction is indefinite.
    end = _as_date(inp.end_date).isoformat() if inp.end_date is not None else None
    out: dict[str, Any] = json.loads(json.dumps(action["decision"]))  # a copy the caller may mutate
    out.update({name: end for name in action["end_date_fields"]})
    return out


def _ground_fields(inp: StatementInput, area: dict[str, Any]) -> dict[str, Any]:
    title = "" if inp.policy_title.lower() in area["ground"].lower() else f" - {inp.policy_title}"
    rule = f"{area['ground']}{title}, version {inp.policy_version}"
    out: dict[str, Any] = {"decision_ground": area["decision_ground"]}
    if area["decision_ground"] == GROUND_ILLEGAL:
        out["illegal_content_legal_ground"] = _clip(area["legal_ground"], 500)
        out["illegal_content_explanation"] = _clip(f"{area['explanation']} Rule: {rule}.", 2000)
    else:
        out["incompatible_content_ground"] = _clip(rule, 500)
        out["incompatible_content_explanation"] = _clip(area["explanation"], 2000)
        if area.get("incompatible_content_illegal") is not None:
            out["incompatible_content_illegal"] = area["incompatible_content_illegal"]
    if inp.rule_url:
        out["decision_ground_reference_url"] = inp.rule_url
    return out


def _category_fields(inp: StatementInput, area: dict[str, Any]) -> dict[str, Any]:
    keywords = list(inp.category_specification or area["category_specification"])
    out: dict[str, Any] = {"category": area["category"], "category_specification": keywords}
    if area.get("category_addition"):
        out["category_addition"] = list(area["category_addition"])
    if KEYWORD_OTHER in keywords and area.get("category_specification_other"):
        out["category_specification_other"] = area["category_specification_other"]
    return out


def _scope(codes: list[str] | None) -> list[str] | None:
    # None is meaningful (the database's null); otherwise keep the caller's order without repeats.
    return None if codes is None else list(dict.fromkeys(codes))


def _source_fields(inp: StatementInput) -> dict[str, Any]:
    out: dict[str, Any] = {
        "source_type": _lookup(SOURCE_DSA, inp.source, "source"),
        "automated_detection": "Yes" if inp.automated_detection else "No",
        "automated_decision": _lookup(AUTOMATION_DSA, inp.automated_decision, "automated_decision"),
    }
    if inp.source == "trusted_flagger" and inp.source_identity:
        out["source_identity"] = _clip(inp.source_identity, 500)
    return out


def build_statement(inp: StatementInput) -> dict[str, Any]:
    """Build a complete statement of reasons for one action and validate it (StatementInvalid if not)."""
    area = _lookup(POLICY_DSA, inp.policy, "policy")
    statement: dict[str, Any] = {
        **_decision_fields(inp),
        **_ground_fields(inp, area),
        # Townsquare hosts text posts; an account action rests on the account's posts and profile text.
        "content_type": ["CONTENT_TYPE_TEXT"],
        **_category_fields(inp, area),
        "territorial_scope": None
        if inp.territorial_scope is None
        else list(dict.fromkeys(inp.territorial_scope)),
        "content_date": _as_date(inp.content_date).isoformat(),
        "application_date": _as_date(inp.application_date).isoformat(),
        "decision_facts": _clip(_redact(inp.facts), 5000),
        **_source_fields(inp),
        "puid": inp.puid,
    }
    language = _language(inp.content_language)
    if language:
        statement["content_language"] = language
    if inp.account_type is not None:
        statement["account_type"] = ACCOUNT_TYPE_DSA.get(inp.account_type, inp.account_type)
    validate_statement(statement)
    return statement


def make_puid(prefix: str, action_id: int | str, platform: str | None = None) -> str:
    """A fresh platform-unique id for a statement, matching the database's PUID pattern; never reused."""
    parts = [prefix, platform, str(action_id)]
    head = "-".join(p for p in (re.sub(r"[^A-Za-z0-9_-]+", "-", s).strip("-") for s in parts if s) if p)
    # The random suffix keeps PUIDs unique even if action ids restart (a new database, a restore).
    suffix = uuid.uuid4().hex[:16]
    return f"{head[: 500 - len(suffix) - 1]}-{suffix}" if head else suffix
