"""The plain-language notice sent to the person whose post or account was restricted (DSA Art. 17)."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template

from townsquare.enforcement.dsa import DSA_ENUMS, GROUND_ILLEGAL

_VISIBILITY = {
    "DECISION_VISIBILITY_CONTENT_REMOVED": "Your post has been removed",
    "DECISION_VISIBILITY_CONTENT_DISABLED": "Access to your post has been disabled",
    "DECISION_VISIBILITY_CONTENT_DEMOTED": "Your post will be shown to fewer people and not recommended",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED": "Your post is only shown to adults",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED": "Others can no longer reply to or share your post",
    "DECISION_VISIBILITY_CONTENT_LABELLED": "A label has been added to your post",
}
_MONETARY = {
    "DECISION_MONETARY_SUSPENSION": "Payments to you have been suspended",
    "DECISION_MONETARY_TERMINATION": "Payments to you have been stopped",
}
_PROVISION = {
    "DECISION_PROVISION_PARTIAL_SUSPENSION": "Your access to some Townsquare features has been suspended",
    "DECISION_PROVISION_TOTAL_SUSPENSION": "Your access to Townsquare has been suspended",
    "DECISION_PROVISION_PARTIAL_TERMINATION": "Your access to some Townsquare features has ended",
    "DECISION_PROVISION_TOTAL_TERMINATION": "Your access to Townsquare has ended",
}
_ACCOUNT = {
    "DECISION_ACCOUNT_SUSPENDED": "Your account has been suspended",
    "DECISION_ACCOUNT_TERMINATED": "Your account has been permanently closed",
}
# statement field, its sentences, its end-date field, and (its *_other field, lead-in for OTHER values)
_DECISIONS: tuple[tuple[str, dict[str, str], str, tuple[str, str]], ...] = (
    (
        "decision_visibility",
        _VISIBILITY,
        "end_date_visibility_restriction",
        ("decision_visibility_other", "Restriction on your post"),
    ),
    (
        "decision_monetary",
        _MONETARY,
        "end_date_monetary_restriction",
        ("decision_monetary_other", "Restriction on earnings"),
    ),
    ("decision_account", _ACCOUNT, "end_date_account_restriction", ("", "Account restriction")),
    ("decision_provision", _PROVISION, "end_date_service_restriction", ("", "Service restriction")),
)
_PERMANENT = {"DECISION_ACCOUNT_TERMINATED", "DECISION_PROVISION_TOTAL_TERMINATION"}
_EVIDENCE_KINDS = {
    "term": "Matched term",
    "hash": "Matched known prohibited content",
    "claim": "Matched a known false claim",
    "classifier": "Automated classifier",
    "near_duplicate": "Near-identical to other posts",
}
APPEAL_MONTHS = 6  # DSA Art. 20(1): the complaint system stays open for at least six months


def _long_date(day: date | str) -> str:
    value = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{value.day} {value:%B %Y}"


def _duration(value: str, end: str | None) -> str:
    if end:
        return f"until {_long_date(end)}"
    if value in _PERMANENT:
        return "permanent"
    return "no set end date; it lasts unless it is reversed, for example on appeal"


def _restrictions(st: dict[str, Any]) -> list[str]:
    """One sentence per restriction in the statement, each with its duration."""
    lines: list[str] = []
    for name, sentences, end_field, other in _DECISIONS:
        raw = st.get(name)
        for value in raw if isinstance(raw, list) else [raw] if raw else []:
            # A total suspension or termination of service is what an account restriction already says.
            if name == "decision_provision" and st.get("decision_account") and "_TOTAL_" in value:
                continue
            detail = str(st.get(other[0]) or "")
            text = sentences.get(value) or f"{other[1]}: {detail[:1].lower()}{detail[1:]}"
            lines.append(f"{text}. Duration: {_duration(value, st.get(end_field))}.")
    return lines


def _scope(st: dict[str, Any]) -> str:
    codes = st.get("territorial_scope")
    if not codes or set(codes) >= set(DSA_ENUMS["COUNTRIES"]):
        return "in all countries of the European Union and the European Economic Area"
    return "in these countries: " + ", ".join(codes)


def _detection(st: dict[str, Any]) -> str:
    automated = st.get("automated_detection") == "Yes"
    source = st.get("source_type")
    if source == "SOURCE_VOLUNTARY":
        return (
            "Our automated systems detected it."
            if automated
            else "Our moderation team found it during its own review."
        )
    if source == "SOURCE_TRUSTED_FLAGGER":
        who = f" ({st['source_identity']})" if st.get("source_identity") else ""
        text = (
            f"A trusted flagger{who}, an organisation recognised for its expertise under Article 22 "
            "of the Digital Services Act, reported it to us."
        )
    elif source == "SOURCE_ARTICLE_16":
        text = "Someone reported it to us (a notice under Article 16 of the Digital Services Act)."
    else:
        text = "It was brought to our attention by a notification."
    return text + (" Automated systems were also used to assess it." if automated else "")


def _decision(st: dict[str, Any]) -> str:
    return {
        "AUTOMATED_DECISION_FULLY": "The decision was made by automated means, with no person reviewing it.",
        "AUTOMATED_DECISION_PARTIALLY": (
            "The decision was made with the help of automated systems; a person on our moderation team "
            "was involved in making it."
        ),
    }.get(st.get("automated_decision", ""), "A person on our moderation team made the decision.")


def _evidence_line(item: dict[str, Any]) -> str:
    """Describe one piece of evidence (kind, match, bank, scorer, score...) in plain words."""
    kind = str(item.get("kind") or "signal")
    parts: list[str] = []
    if item.get("match"):
        parts.append(f'"{_clip(str(item["match"]), 120)}"')
    if item.get("bank"):
        parts.append(f'from our list "{item["bank"]}"')
    if item.get("scorer"):
        version = f" version {item['version']}" if item.get("version") else ""
        parts.append(f"found by {item['scorer']}{version}")
    if isinstance(item.get("score"), int | float):
        threshold = item.get("threshold")
        limit = f" (our threshold is {threshold:.2f})" if isinstance(threshold, int | float) else ""
        parts.append(f"score {item['score']:.2f}{limit}")
    label = _EVIDENCE_KINDS.get(kind, kind.replace("_", " ").capitalize())
    return label + (": " + ", ".join(parts) if parts else "")


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for candidate in (day.day, 30, 29, 28):  # clamp 31 August + 6 months to 28/29 February
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise ValueError(f"cannot add {months} months to {day}")


def _policy_version(st: dict[str, Any]) -> str | None:
    # build_statement cites the rule as "..., version X"; read it back when the caller did not pass it.
    text = st.get("incompatible_content_ground") or st.get("illegal_content_explanation") or ""
    found = re.search(r", version ([^\s,)]+?)\.?(?:$|[\s)])", text)
    return found.group(1) if found else None


@lru_cache(maxsize=1)
def _template() -> Template:
    # Plain text, not HTML, so no autoescaping; a web view must escape the result itself.
    env = Environment(
        loader=PackageLoader("townsquare.enforcement", "templates"),
        autoescape=False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env.get_template("notice.txt.j2")


def render_notice(
    statement: dict[str, Any],
    *,
    policy_title: str,
    policy_definition: str,
    evidence: list[dict[str, Any]],
    appeal_url: str,
    appeal_deadline: date,
    post_excerpt: str | None,
    policy_version: str | None = None,
    rule_url: str | None = None,
) -> str:
    """Render the notice for the affected person from a built statement of reasons."""
    applied = date.fromisoformat(statement["application_date"])
    earliest = _add_months(applied, APPEAL_MONTHS)
    if appeal_deadline < earliest:
        raise ValueError(f"appeal_deadline must be on or after {earliest} (DSA Art. 20(1): six months)")
    illegal = statement.get("decision_ground") == GROUND_ILLEGAL
    return _template().render(
        target="account" if statement.get("decision_account") else "post",
        restrictions=_restrictions(statement),
        scope=_scope(statement),
        post_excerpt=_clip(post_excerpt, 280) if post_excerpt else None,
        illegal=illegal,
        legal_ground=statement.get("illegal_content_legal_ground", ""),
        illegal_explanation=statement.get("illegal_content_explanation", ""),
        policy_title=policy_title,
        policy_version=policy_version or _policy_version(statement),
        policy_definition=policy_definition.strip(),
        rule_url=rule_url or statement.get("decision_ground_reference_url"),
        facts=statement.get("decision_facts", ""),
        evidence=[_evidence_line(item) for item in evidence],
        detection=_detection(statement),
        decision=_decision(statement),
        appeal_url=appeal_url,
        appeal_deadline=_long_date(appeal_deadline),
        puid=statement.get("puid", ""),
    )
