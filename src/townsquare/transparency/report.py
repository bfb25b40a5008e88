"""Build the DSA transparency report for a period: the eleven CSV parts, report.json and the figures.

Every figure comes from the projections the event log keeps in step (actions, reports and their outcomes,
appeals, cases) and the transparency records (orders, recipients, texts), through set-based queries in
`repository`. The report holds no personal data: no handles, no post text, no staff names.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from townsquare.errors import Invalid
from townsquare.eventlog.events import canonical_json
from townsquare.runtime import Runtime
from townsquare.transparency import accuracy, civil, qualitative
from townsquare.transparency import repository as repo
from townsquare.transparency.parts_cat import notices_part, orders_part, own_initiative_parts
from townsquare.transparency.parts_long import (
    appeals_part,
    art23_keys,
    automated_part,
    categories_part,
    human_resources_part,
    qualitative_part,
    recipients_part,
    summary_part,
)
from townsquare.transparency.templates_dsa import MAP, PART_FILES, Period, to_csv

FORMATS = ("json", "csv")
MAX_DAYS = 366


def parse_period(first: str | None, last: str | None, today: date) -> Period:
    """A reporting period from YYYY-MM-DD strings; 422 naming the field when missing, malformed, inverted
    or in the future."""
    days = []
    for name, raw in (("from", first), ("to", last)):
        if raw is None or not str(raw).strip():
            raise Invalid(f"{name} is required (YYYY-MM-DD)", {"field": name})
        try:
            days.append(date.fromisoformat(str(raw).strip()))
        except ValueError:
            raise Invalid(f"{name} is not a date (YYYY-MM-DD)", {"field": name}) from None
    if days[0] > days[1]:
        raise Invalid("from is after to: the period is inverted", {"field": "from"})
    if days[1] >= today:
        raise Invalid("to must be a day that has ended (before today, UTC)", {"field": "to"})
    if (days[1] - days[0]).days + 1 > MAX_DAYS:
        raise Invalid(f"a report covers at most {MAX_DAYS} days", {"field": "to"})
    return Period(days[0], days[1])


def build(
    session: Session, rt: Runtime, period: Period, *, vlop: bool | None = None, published: date | None = None
) -> dict[str, Any]:
    """The whole report as a dict: {"meta", "parts": {file: [header, *rows]}, "figures", "civil_rights"}."""
    start, end = period.start, period.end
    vlop = rt.settings.vlop if vlop is None else vlop
    previous = repo.previous_publication(session, rt.now())
    ctx: dict[str, Any] = {
        "service": rt.settings.service_name,
        "provider": rt.settings.provider_name,
        "period": period.label,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "published": (published or rt.now().date()).isoformat(),
        "previous": previous.date().isoformat() if previous else None,
        "vlop": vlop,
        "figures": {},
        "items_total": repo.notice_items_total(session, start, end, trusted=False),
        "items_total_tf": repo.notice_items_total(session, start, end, trusted=True),
    }
    notice_rows = repo.notices(session, start, end)
    measures = repo.measures(session, start, end)
    appeal_rows = repo.appeals(session, start, end)
    qa_rows = repo.qa_outcomes(session, start, end)
    part5, part6 = own_initiative_parts(ctx, measures)
    decided = sum(r["notices"] - r["open"] for r in notice_rows)
    decided_tf = sum(r["notices"] - r["open"] for r in notice_rows if r["source"] == "trusted_flagger")
    auto = accuracy.automated_figures(measures, qa_rows, appeal_rows, decided, decided_tf)
    ctx["figures"]["automated"] = auto
    total, with_lang, langs = repo.moderators(session, list(MAP["deciding_roles"]), end)
    ctx["figures"]["moderators"] = {"total": total, "languages": dict(langs)}
    averages = {
        scope: (avg, n)
        for scope, avg, n in repo.recipients(session, period.first.replace(day=1), period.last)
    }
    texts = {k: v["text"] for k, v in qualitative.current(session, rt).items()}
    parts = {
        "Part_1_summary.csv": summary_part(ctx),
        "Part_2_categories_names.csv": categories_part(ctx),
        "Part_3_member_states_orders.csv": orders_part(ctx, repo.orders(session, start, end)),
        "Part_4_notices.csv": notices_part(ctx, notice_rows, repo.notice_action_hours(session, start, end)),
        "Part_5_own_initiative_illegal.csv": part5,
        "Part_6_own_initiative_TC.csv": part6,
        "Part_7_appeals_and_recidivism.csv": appeals_part(
            ctx, appeal_rows, repo.appeal_hours(session, start, end), art23_keys(measures)
        ),
        "Part_8_automated_means.csv": automated_part(ctx, auto),
        "Part_9_human_resources.csv": human_resources_part(ctx, total, dict(langs), with_lang),
        "Part_10_AMAR.csv": recipients_part(ctx, averages),
        "Part_11_qualitative.csv": qualitative_part(ctx, texts),
    }
    ctx["figures"]["measures_by_automation"] = {
        "solely_automated": auto["total"]["solely"],
        "not_solely_automated": auto["total"]["not"],
    }
    assert tuple(parts) == PART_FILES
    return {
        "meta": {
            "provider": ctx["provider"],
            "service": ctx["service"],
            "period": {"from": ctx["first"], "to": ctx["last"]},
            "published": ctx["published"],
            "previous_report": ctx["previous"],
            "vlop": vlop,
            "generator": "townsquare.transparency",
        },
        "parts": parts,
        "figures": ctx["figures"],
        "civil_rights": civil.figures(session, rt, start, end),
        "qualitative": texts,
    }


def csv_files(report: dict[str, Any]) -> dict[str, str]:
    """Each part as CSV text, under the template's file name."""
    return {name: to_csv(rows[0], rows[1:]) for name, rows in report["parts"].items()}


def digest(report: dict[str, Any]) -> str:
    """SHA-256 of the report's canonical JSON (what the event log records on publication)."""
    return hashlib.sha256(canonical_json(report).encode("utf-8")).hexdigest()


def write(report: dict[str, Any], out: Path, html: str) -> list[Path]:
    """Write the parts, report.json and index.html into `out` (created); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in csv_files(report).items():
        path = out / name
        path.write_text(text, encoding="utf-8", newline="")
        written.append(path)
    (out / "report.json").write_text(canonical_json(report), encoding="utf-8")
    (out / "index.html").write_text(html, encoding="utf-8")
    return [*written, out / "report.json", out / "index.html"]
