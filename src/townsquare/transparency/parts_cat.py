"""Parts 3 to 6: the category tables (orders, notices, own-initiative measures), from grouped counts."""

from __future__ import annotations

from typing import Any

from townsquare.enforcement.dsa import GROUND_ILLEGAL, KEYWORD_OTHER, POLICY_DSA
from townsquare.transparency.templates_dsa import MAP, STATE_PLACEHOLDER, Tally, fmt, med, row_keys, template

NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
_VALUE_START = 5  # Applicability, Service, Reporting period, Category, Description of "Other"


def area(policy: str | None) -> dict[str, Any] | None:
    """The DSA mapping of a policy area (None for an unknown area or the reason "other")."""
    return POLICY_DSA.get(policy or "")


def category_of(policy: str | None, fallback: str) -> tuple[str, list[str]]:
    """(statement category, keywords) for a policy area, or the fallback category without keywords."""
    a = area(policy)
    return (a["category"], list(a["category_specification"])) if a else (fallback, [])


def other_descriptions() -> dict[str, str]:
    """Our description of KEYWORD_OTHER per category, where a policy area uses it."""
    out: dict[str, str] = {}
    for a in POLICY_DSA.values():
        if KEYWORD_OTHER in a["category_specification"] and a.get("category_specification_other"):
            prev = out.get(a["category"])
            text = a["category_specification_other"]
            out[a["category"]] = f"{prev}; {text}" if prev and text not in prev else text
    return out


def _fill(
    name: str,
    ctx: dict[str, Any],
    value: Any,
    context: dict[str, str] | None = None,
    scope_col: int | None = None,
) -> list[list[str]]:
    """Fill a category table: value(key, column) gives each cell; context fills the TOTAL row's notes."""
    header, rows = template(name)
    start = _VALUE_START + (1 if scope_col is not None else 0)
    columns = [h for h in header[start:] if not h.startswith("Contextual")]
    keys = row_keys(rows, 3)
    others = other_descriptions()
    out: list[list[str]] = []
    for row, key in zip(rows, keys, strict=True):
        scopes = [row[scope_col]] if scope_col is not None else [None]
        if scope_col is not None and row[scope_col] == STATE_PLACEHOLDER:
            scopes = list(MAP["member_states"])
        for scope in scopes:
            filled = list(row)
            filled[1], filled[2] = ctx["service"], ctx["period"]
            if scope is not None and scope_col is not None:
                filled[scope_col] = scope
            filled[4] = others.get(key[0], "") if key[-1] == KEYWORD_OTHER else ""
            full = key if scope in (None, "TOTAL") else (*key, scope)
            for i, col in enumerate(header[start:], start):
                if col.startswith("Contextual"):
                    filled[i] = (
                        (context or {}).get(col, "") if key == ("TOTAL",) and scope in (None, "TOTAL") else ""
                    )
                else:
                    filled[i] = fmt(value(full, col.strip()))
            out.append(filled)
    assert len(columns) > 0
    return [header, *out]


def notices_part(
    ctx: dict[str, Any], rows: list[dict[str, Any]], times: list[tuple[str, str, float]]
) -> list[list[str]]:
    """Part 4: notices by category, from trusted flaggers, items, time to action, law vs terms."""
    t = Tally()
    for r in rows:
        cat, kws = category_of(r["reason"], NOT_SPECIFIED_NOTICE)
        keys = Tally.keys(cat, kws)
        tf = r["source"] == "trusted_flagger"
        a = area(r["reason"])
        basis = "law" if a and a["decision_ground"] == GROUND_ILLEGAL else "terms"
        t.add(keys, "notices", r["notices"])
        t.add(keys, "items", r["items"])
        t.add(keys, f"acted_{basis}", r["actioned"])
        if tf:
            t.add(keys, "notices_tf", r["notices"])
            t.add(keys, "items_tf", r["items"])
            t.add(keys, f"acted_{basis}_tf", r["actioned"])
    for reason, source, h in times:
        cat, kws = category_of(reason, NOT_SPECIFIED_NOTICE)
        keys = Tally.keys(cat, kws)
        t.time(keys, "time", h)
        if source == "trusted_flagger":
            t.time(keys, "time_tf", h)
    # Items are distinct across categories only in the TOTAL row, which the builder sets from SQL.
    t.counts[("TOTAL",)]["items"] = ctx["items_total"]
    t.counts[("TOTAL",)]["items_tf"] = ctx["items_total_tf"]
    columns = {
        "Number of notices received": lambda k: t.count(k, "notices"),
        "Number of notices received from Trusted flaggers": lambda k: t.count(k, "notices_tf"),
        "Number of specific items of information included in the total number of notices": lambda k: t.count(
            k, "items"
        ),
        "Number of specific items of information included in the total number of notices by Trusted Flaggers "
        "(Trusted Flagger notices)": lambda k: t.count(k, "items_tf"),
        "Median time to take action": lambda k: t.median(k, "time"),
        "Median time to take action (Trusted Flagger notices)": lambda k: t.median(k, "time_tf"),
        "Number of actions taken on the basis of the law": lambda k: t.count(k, "acted_law"),
        "Number of actions taken on the basis of the law (Trusted Flagger notices)": lambda k: t.count(
            k, "acted_law_tf"
        ),
        "Number of actions taken on the basis of the terms and conditions of the service": lambda k: t.count(
            k, "acted_terms"
        ),
        "Number of actions taken on the basis of the terms and conditions of the service (Trusted Flagger "
        "notices)": lambda k: t.count(k, "acted_terms_tf"),
    }
    note = (
        "Notices are user reports received through the reporting API in the period; a notice's category is "
        "the policy area the reporter chose (reason 'other': not specified by the notifier)."
    )
    context = {
        "Contextual information on Number of notices received ": note,
        "Contextual information on Median time to take action": "Hours from the notice to the decision that "
        "acted on it; notices not acted upon are excluded.",
        "Contextual information on Number of actions taken on the basis of the law": "Townsquare acts on its "
        "terms unless the policy area is mapped to illegal content (child safety).",
    }
    ctx["figures"]["notices"] = {
        "received": t.count(("TOTAL",), "notices"),
        "trusted_flagger": t.count(("TOTAL",), "notices_tf"),
        "items": ctx["items_total"],
        "actioned_law": t.count(("TOTAL",), "acted_law"),
        "actioned_terms": t.count(("TOTAL",), "acted_terms"),
        "median_hours_to_action": t.median(("TOTAL",), "time"),
        "by_category": {k[0]: t.count(k, "notices") for k in t.counts if len(k) == 1 and k[0] != "TOTAL"},
    }
    return _fill("Part_4_notices.csv", ctx, lambda k, c: columns[c](k) if c in columns else None, context)


def own_initiative_parts(
    ctx: dict[str, Any], rows: list[dict[str, Any]]
) -> tuple[list[list[str]], list[list[str]]]:
    """Parts 5 (illegal content) and 6 (terms): own-initiative measures by category and restriction."""
    tallies = {"illegal": Tally(), "terms": Tally()}
    for r in rows:
        if r["source"] != "voluntary":
            continue
        a = area(r["policy"])
        cat, kws = category_of(r["policy"], "STATEMENT_CATEGORY_OTHER_VIOLATION_TC")
        t = tallies["illegal" if a and a["decision_ground"] == GROUND_ILLEGAL else "terms"]
        keys = Tally.keys(cat, kws)
        t.add(keys, "measures", r["n"])
        if r["detected"] or r["automated"]:
            t.add(keys, "auto_detected", r["n"])
        column = MAP["ladder"].get(r["action"])
        if column:
            t.add(keys, column, r["n"])
    used = set(MAP["ladder"].values())

    def value(t: Tally) -> Any:
        def cell(k: tuple[str, ...], c: str) -> Any:
            if c == "Number of measures taken at the provider's own initiative":
                return t.count(k, "measures")
            if c == "Number of measures taken after detection with solely automated means":
                return t.count(k, "auto_detected")
            return t.count(k, c) if c in used else None  # a restriction we never impose stays blank

        return cell

    context = {
        "Contextual Information on Number of measures taken after detection with solely automated means ": (
            "Measures whose statement of reasons records automated detection (the scorers found it); "
            "the decision itself may still have been a person's."
        ),
        "Contextual Information on Monetary restriction Suspension": "Demonetising a post (excluding it from "
        "advertising revenue) is counted here.",
    }
    for basis, t in tallies.items():
        ctx["figures"][f"own_initiative_{basis}"] = {
            "measures": t.count(("TOTAL",), "measures"),
            "after_automated_detection": t.count(("TOTAL",), "auto_detected"),
            "by_restriction": {c: t.count(("TOTAL",), c) for c in MAP["ladder"].values()},
            "by_category": {
                k[0]: t.count(k, "measures") for k in t.counts if len(k) == 1 and k[0] != "TOTAL"
            },
        }
    return (
        _fill("Part_5_own_initiative_illegal.csv", ctx, value(tallies["illegal"]), context),
        _fill("Part_6_own_initiative_TC.csv", ctx, value(tallies["terms"]), context),
    )


def orders_part(ctx: dict[str, Any], rows: list[dict[str, Any]]) -> list[list[str]]:
    """Part 3: orders to act and to provide information, per category and Member State."""
    t = Tally()
    for o in rows:
        for keys in (
            Tally.keys(o["category"], o["keywords"]),
            Tally.keys(o["category"], o["keywords"], (o["state"],)),
        ):
            if o["type"] == "act":
                t.add(keys, "act", 1)
                t.add(keys, "items", o["items"])
                for col, h in (("act_ack", o["ack_h"]), ("act_effect", o["effect_h"])):
                    if h is not None:
                        t.time(keys, col, h)
            else:
                t.add(keys, "info", 1)
                for col, h in (("info_ack", o["ack_h"]), ("info_effect", o["effect_h"])):
                    if h is not None:
                        t.time(keys, col, h)
    act, info = "act against illegal content", "provide information"
    columns = {
        f"Number of orders to {act} received": lambda k: t.count(k, "act"),
        "Number of specific items of information included in the total number of orders to "
        f"{act}": lambda k: t.count(k, "items"),
        f"Median time to inform the authority of the receipt of the order to {act}": lambda k: t.median(
            k, "act_ack"
        ),
        f"Median time to give effect to the order to {act}": lambda k: t.median(k, "act_effect"),
        f"Number of orders to {info}": lambda k: t.count(k, "info"),
        f"Median time to inform the authority of the receipt of the order to {info}": lambda k: t.median(
            k, "info_ack"
        ),
        f"Median time to give effect to the order to {info}": lambda k: t.median(k, "info_effect"),
    }
    ctx["figures"]["orders"] = {
        "to_act": t.count(("TOTAL",), "act"),
        "to_provide_information": t.count(("TOTAL",), "info"),
        "items": t.count(("TOTAL",), "items"),
        "median_hours_to_effect": med(t.durations.get(("TOTAL",), {}).get("act_effect", [])),
    }
    context = {
        "Contextual information on number of orders to act against illegal content received": "Orders as "
        "recorded through /v1/orders; a row per Member State follows the TOTAL rows.",
    }
    return _fill(
        "Part_3_member_states_orders.csv",
        ctx,
        lambda k, c: columns[c](k) if c in columns else None,
        context,
        scope_col=5,
    )
