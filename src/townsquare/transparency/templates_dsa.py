"""The official DSA report templates (Annex I, English CSV) as shipped, and the filling rules of Annex II.

The headers and row keys are never rewritten: a filled part is the template's header followed by the
template's rows with their value cells set. Placeholder rows ("AT, […], SE" for Member States,
"bg / […] / sv" for languages) become one row per Member State or official language, in the template's
order (English names, alphabetical).
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from importlib import resources
from statistics import median
from typing import Any, Final

PART_FILES: Final = (
    "Part_1_summary.csv",
    "Part_2_categories_names.csv",
    "Part_3_member_states_orders.csv",
    "Part_4_notices.csv",
    "Part_5_own_initiative_illegal.csv",
    "Part_6_own_initiative_TC.csv",
    "Part_7_appeals_and_recidivism.csv",
    "Part_8_automated_means.csv",
    "Part_9_human_resources.csv",
    "Part_10_AMAR.csv",
    "Part_11_qualitative.csv",
)
_PKG = "townsquare.transparency"
MAP: Final[dict[str, Any]] = json.loads(resources.files(_PKG).joinpath("report_map.json").read_text("utf-8"))
VLOP_ONLY: Final = ("Only for VLOPs", "Only for VLOPs and VLOSEs")
STATE_PLACEHOLDER: Final = "AT, […], SE"
LANGUAGE_PLACEHOLDERS: Final = ("bg", "[...]", "sv")
STATE_ROWS: Final = ("AT", "[...]", "SE")


def template(name: str) -> tuple[list[str], list[list[str]]]:
    """The header and rows of one official template, exactly as published."""
    text = resources.files(_PKG).joinpath("dsa_templates", name).read_text("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def to_csv(header: list[str], rows: list[list[str]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quoting as needed), UTF-8 text."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


@dataclass(frozen=True)
class Period:
    """A reporting period of whole UTC days, both ends included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """The first instant of the period."""
        return datetime.combine(self.first, time(0), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=UTC)

    @property
    def label(self) -> str:
        """YYYY-MM-DD/YYYY-MM-DD, as the templates' Reporting period column."""
        return f"{self.first.isoformat()}/{self.last.isoformat()}"


def fmt(value: Any) -> str:
    """A value cell: integers as integers, shares and hours as short decimals, None as blank."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def med(values: list[float]) -> float | None:
    """The median in hours, rounded to hundredths; None when there is nothing to take it of."""
    return round(float(median(values)), 2) if values else None


@dataclass
class Tally:
    """Counts and durations per category key: ("TOTAL",), (category,), (category, keyword)."""

    counts: dict[tuple[str, ...], dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    durations: dict[tuple[str, ...], dict[str, list[float]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    @staticmethod
    def keys(category: str, keywords: list[str], extra: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        """Every row a measure in `category` with `keywords` counts in."""
        out = [("TOTAL", *extra), (category, *extra)]
        out += [(category, kw, *extra) for kw in dict.fromkeys(keywords)]
        return out

    def add(self, keys: list[tuple[str, ...]], column: str, n: int) -> None:
        """Add n to `column` in every row of `keys`."""
        for key in keys:
            self.counts[key][column] = self.counts[key].get(column, 0) + n

    def time(self, keys: list[tuple[str, ...]], column: str, h: float) -> None:
        """Record one duration (hours) under `column` in every row of `keys`."""
        for key in keys:
            self.durations[key].setdefault(column, []).append(h)

    def count(self, key: tuple[str, ...], column: str) -> int:
        """The count of `column` in row `key` (0 if none)."""
        return self.counts.get(key, {}).get(column, 0)

    def median(self, key: tuple[str, ...], column: str) -> float | None:
        """The median duration of `column` in row `key`."""
        return med(self.durations.get(key, {}).get(column, []))


def row_keys(rows: list[list[str]], key_col: int) -> list[tuple[str, ...]]:
    """The category key of each category-table row (a KEYWORD_ row belongs to the category above it)."""
    out: list[tuple[str, ...]] = []
    current = "TOTAL"
    for row in rows:
        key = row[key_col].strip()
        if key == "TOTAL":
            current = "TOTAL"
            out.append(("TOTAL",))
        elif key.startswith("STATEMENT_CATEGORY_"):
            current = key
            out.append((key,))
        else:
            out.append((current, key))
    return out


def expand(
    rows: list[list[str]], col: int, placeholder: tuple[str, ...], values: list[str]
) -> list[list[str]]:
    """Replace each run of placeholder rows (same other cells) by one row per value."""
    out: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for row in rows:
        if row[col].strip() not in placeholder:
            out.append(row)
            continue
        ident = tuple(c for i, c in enumerate(row) if i != col)
        if ident in seen:
            continue
        seen.add(ident)
        out.extend([*row[:col], v, *row[col + 1 :]] for v in values)
    return out


def applies(applicability: str, vlop: bool) -> bool:
    """Whether a row applies to Townsquare (an online platform; VLOP rows only when it is one)."""
    return vlop or applicability.strip() not in VLOP_ONLY
