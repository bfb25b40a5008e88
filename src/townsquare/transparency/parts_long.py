"""Parts 1, 2 and 7 to 11: the identification, category names and the long-format parts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from townsquare.enforcement.dsa import GROUND_ILLEGAL, POLICY_DSA
from townsquare.taxonomy import area_title
from townsquare.transparency.templates_dsa import (
    LANGUAGE_PLACEHOLDERS,
    MAP,
    STATE_ROWS,
    applies,
    expand,
    fmt,
    med,
    template,
)

Cell = tuple[Any, str]  # (value, contextual information)


def summary_part(ctx: dict[str, Any]) -> list[list[str]]:
    """Part 1: who reports, when, and for which period."""
    header, rows = template("Part_1_summary.csv")
    values = {
        "Name of the service provider": ctx["provider"],
        "Date of the publication of the report": ctx["published"],
        "Date of the publication of the latest previous report": ctx["previous"],
        "Starting date of reporting period": ctx["first"],
        "Ending date of reporting period": ctx["last"],
    }
    out = [[r[0], ctx["service"], r[2], fmt(values.get(r[2].strip()))] for r in rows]
    return [header, *out]


def categories_part(ctx: dict[str, Any]) -> list[list[str]]:
    """Part 2: the template's category names, with the Townsquare policy areas each one covers."""
    header, rows = template("Part_2_categories_names.csv")
    covers: dict[str, list[str]] = {}
    for policy, a in POLICY_DSA.items():
        covers.setdefault(a["category"], []).append(area_title(policy))
        for kw in a["category_specification"]:
            covers.setdefault(f"{a['category']}|{kw}", []).append(area_title(policy))
    out = []
    current = ""
    for r in rows:
        key = r[2].strip()
        current = key if key.startswith("STATEMENT_CATEGORY_") else current
        found = covers.get(key) or covers.get(f"{current}|{key}") if key != "TOTAL" else None
        note = f"Townsquare policy areas: {', '.join(found)}" if found else ""
        out.append([r[0], r[1], r[2], note])
    return [header, *out]


def _long(
    name: str,
    ctx: dict[str, Any],
    cell: Callable[[str, str, str], Cell | None],
    expand_scope: list[str] | None = None,
) -> list[list[str]]:
    """Fill a long-format part: cell(section, indicator, scope) -> (value, context) or None (blank)."""
    header, rows = template(name)
    has_section = "Section" in header
    scope_i = header.index("Scope") if "Scope" in header else None
    if scope_i is not None and expand_scope is not None:
        placeholders = STATE_ROWS if name == "Part_10_AMAR.csv" else LANGUAGE_PLACEHOLDERS
        rows = expand(rows, scope_i, placeholders, expand_scope)
    value_i = header.index("Value")
    out = []
    for r in rows:
        filled = list(r)
        filled[1], filled[2] = ctx["service"], ctx["period"]
        section = r[3].strip() if has_section else ""
        indicator = r[header.index("Indicator")].strip()
        scope = r[scope_i].strip() if scope_i is not None else ""
        got = cell(section, indicator, scope) if applies(r[0], ctx["vlop"]) else None
        filled[value_i] = fmt(got[0]) if got else ""
        if len(header) > value_i + 1:
            filled[value_i + 1] = got[1] if got else ""
        out.append(filled)
    return [header, *out]


def _complaint_type(a: dict[str, Any], spec: dict[str, Any]) -> bool:
    if a["kind"] != spec["kind"]:
        return False
    if spec["kind"] == "action":
        return a["action"] in spec["actions"]
    return bool(a["source"] == spec["source"])


Times = list[tuple[str, str | None, str, float]]


def appeals_part(
    ctx: dict[str, Any], rows: list[dict[str, Any]], times: Times, art23: dict[str, int]
) -> list[list[str]]:
    """Part 7: complaints (totals, outcomes, median time, per type), out-of-court disputes, Art. 23."""
    outcomes = MAP["appeal_outcomes"]

    def stats(spec: dict[str, Any] | None) -> dict[str, Any]:
        def match(r: dict[str, Any]) -> bool:
            return spec is None or _complaint_type(r, spec)

        chosen = [r for r in rows if match(r)]
        out: dict[str, Any] = {"Total number": sum(r["n"] for r in chosen)}
        for key, scope in outcomes.items():
            out[scope] = sum(r["n"] for r in chosen if r["outcome"] == key)
        out["Median time"] = med([h for k, a, s, h in times if match({"kind": k, "action": a, "source": s})])
        out["Decision omitted"] = sum(r["n"] for r in chosen if r["outcome"] is None)
        return out

    total = stats(None)
    per_type = {indicator: stats(spec) for indicator, spec in MAP["complaint_types"].items()}
    new_restrictions = sum(
        r["n"] for r in rows if r["kind"] == "report" and r["outcome"] in ("overturned", "modified")
    )
    ctx["figures"]["appeals"] = {
        "total": total,
        "per_type": per_type,
        "restrictions_imposed": new_restrictions,
    }

    def cell(section: str, indicator: str, scope: str) -> Cell | None:
        if section == "Internal complaints mechanism":
            if indicator == "Number of complaints submitted to the internal-complaints mechanism":
                note = (
                    "Complaints received in the period and not decided by its end."
                    if scope == "Decision omitted"
                    else ""
                )
                if scope == "Median time":
                    note = "Hours from the complaint to its decision."
                return total.get(scope), note
            if indicator == "Number of restrictions newly imposed as a result of an internal complaint":
                return new_restrictions, "Reporters' complaints that led to a restriction."
            if indicator in per_type:
                note = "Account suspensions and terminations are counted under the account row." if (
                    "provision of the service" in indicator) else ""  # fmt: skip
                return per_type[indicator].get(scope), note
        if section == "Out-of-court dispute settlement bodies":
            if scope == "Percentage of outcomes implemented":
                return None, ""
            return 0, "No dispute was referred to an out-of-court body in the period (none is recorded)."
        if section == "Suspensions imposed on repeated offenders":
            key = (
                "illegal"
                if "illegal content" in indicator
                else "notices"
                if "notices" in indicator
                else "complaints"
            )
            notes = {
                "illegal": "Account suspensions under a policy area mapped to illegal content.",
                "notices": "Reporters of manifestly unfounded notices are down-weighted, not suspended.",
                "complaints": "Appellants are not suspended for unfounded complaints.",
            }
            return art23.get(key, 0), notes[key]
        return None

    return _long("Part_7_appeals_and_recidivism.csv", ctx, cell)


def automated_part(ctx: dict[str, Any], auto: dict[str, Any]) -> list[list[str]]:
    """Part 8: solely automated vs not, and accuracy, precision, recall with the method and 95% intervals."""
    scope_map = {
        "Total number": "total",
        "Own-initiative": "own",
        "NAM Total": "nam",
        "NAM Trusted Flagger": "nam_tf",
    }

    def cell(section: str, indicator: str, scope: str) -> Cell | None:
        key = scope_map.get(scope)
        if key is None:  # per-language rows (VLOPs): Townsquare does not split these by language
            return 0, "Not broken down by language." if indicator.startswith("Number") else ""
        figures = auto[key]
        if indicator.startswith("Number of measures solely") or indicator.startswith(
            "Number of notices solely"
        ):
            return figures["solely"], figures.get("note", "")
        if indicator.startswith("Number of measures not") or indicator.startswith("Number of notices not"):
            return figures["not"], ""
        metric = indicator.rsplit("- ", 1)[-1].strip().lower()
        m = figures.get(metric)
        if m is None:
            return None, figures.get("metric_note", "")
        return m["value"], m["method"]

    return _long("Part_8_automated_means.csv", ctx, cell, expand_scope=list(MAP["languages"]))


def human_resources_part(
    ctx: dict[str, Any], total: int, langs: dict[str, int], with_lang: int
) -> list[list[str]]:
    """Part 9: moderators (staff holding a deciding role) and the languages they review in."""

    def cell(section: str, indicator: str, scope: str) -> Cell | None:
        if indicator == "Number of internal moderators employed by the provider":
            return total, "Active staff accounts holding a deciding role: " + ", ".join(
                MAP["deciding_roles"]
            ) + "."
        if indicator == "Number of external moderators contracted by the provider":
            return 0, "Townsquare records no contracted moderators."
        if scope == "Total number":
            return with_lang, "Moderators with at least one recorded review language."
        return langs.get(scope, 0), ""

    return _long("Part_9_human_resources.csv", ctx, cell, expand_scope=list(MAP["languages"]))


def recipients_part(ctx: dict[str, Any], averages: dict[str, tuple[float, int]]) -> list[list[str]]:
    """Part 10: average monthly active recipients, as posted by the platform."""

    def cell(section: str, indicator: str, scope: str) -> Cell | None:
        avg = averages.get(scope)
        return (round(avg[0]) if avg else 0), ""

    ctx["figures"]["recipients"] = {k: round(v[0]) for k, v in averages.items()}
    return _long("Part_10_AMAR.csv", ctx, cell, expand_scope=list(MAP["member_states"]))


def qualitative_part(ctx: dict[str, Any], texts: dict[str, str]) -> list[list[str]]:
    """Part 11: the operator's texts (prefilled with what the system knows)."""

    def cell(section: str, indicator: str, scope: str) -> Cell | None:
        return texts.get(indicator, ""), ""

    return _long("Part_11_qualitative.csv", ctx, cell)


def art23_keys(rows: list[dict[str, Any]]) -> dict[str, int]:
    """Account suspensions in the period under a policy mapped to illegal content."""
    illegal = {p for p, a in POLICY_DSA.items() if a["decision_ground"] == GROUND_ILLEGAL}
    return {"illegal": sum(r["n"] for r in rows if r["action"] == "suspend" and r["policy"] in illegal)}
