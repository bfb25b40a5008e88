"""Numbers as people read them: durations ("3 min"), counts ("1.1M"), short hashes with the full value."""

from __future__ import annotations

import math
import re
from typing import Any

from markupsafe import Markup

_HEXLIKE = re.compile(r"^(?:[a-z0-9_-]+[:@=])?[0-9a-f]{16,}$", re.IGNORECASE)
_HEX_RUN = re.compile(r"\b([0-9a-f]{7})[0-9a-f]{5,}\b")


def duration(seconds: float | int | None) -> str:
    """A duration in the largest sensible unit: "under 1 min", "3 min", "2 h 5 min", "4 days"."""
    if seconds is None:
        return "–"
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return str(seconds)
    if math.isnan(s):
        return "–"
    s = max(s, 0.0)
    minutes = int(s // 60)
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = round(hours / 24)
    return f"{days} days"


def hours(value: float | int | None) -> str:
    """A duration given in hours (as the queue views compute it), written as `duration` does."""
    if value is None:
        return "–"
    try:
        return duration(float(value) * 3600)
    except (TypeError, ValueError):
        return str(value)


def count(value: float | int | None) -> str:
    """A count with a K/M/B suffix above 10,000: 950 -> "950", 12,500 -> "12.5K", 1,130,000 -> "1.1M"."""
    if value is None:
        return "–"
    try:
        n = float(value)
    except (TypeError, ValueError):
        return str(value)
    if abs(n) < 10_000:
        return f"{n:,.0f}" if n == int(n) else f"{n:,.1f}"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= size:
            short = f"{n / size:.1f}".removesuffix(".0")
            return f"{short}{suffix}"
    return f"{n:,.0f}"  # pragma: no cover - every value >= 10,000 has a suffix


def number(value: Any, digits: int = 2) -> str:
    """A decimal without scientific notation: 2.78e-06 -> "0.00", 0.4567 -> "0.46"."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def short_hash(value: Any, length: int = 10) -> Markup:
    """A long hash or version id cut to `length` characters, the full value on hover (title)."""
    text = "" if value is None else str(value)
    if len(text) <= length + 2:
        return Markup('<span class="hash">{}</span>').format(text)
    return Markup('<span class="hash" title="{}">{}…</span>').format(text, text[:length])


def short_version(value: Any) -> Markup:
    """A version with checksums (`1.3+33b4aa2ce40a/1.0+9f1c...`) with each checksum cut to 7 characters,
    the full value on hover."""
    text = "" if value is None else str(value)
    short = _HEX_RUN.sub(r"\1", text)
    if short == text:
        return Markup('<span class="hash">{}</span>').format(text)
    return Markup('<span class="hash" title="{}">{}</span>').format(text, short)


def maybe_hash(value: Any) -> Markup | str:
    """`short_hash` for values that are hashes, `short_version` for those holding one; others unchanged."""
    text = "" if value is None else str(value)
    if _HEXLIKE.match(text):
        return short_hash(text)
    return short_version(text) if _HEX_RUN.search(text) else text


_COUNTS = frozenset({"views", "followers", "expected_future_views", "velocity", "views_per_hour"})


def factor(value: Any, key: str) -> str:
    """A priority input as people read it: hours as a duration, audiences as counts, scores to 2 places."""
    if value is None:
        return "–"
    if key.startswith("hours") or key.endswith("_hours"):
        return hours(value)
    if key in _COUNTS:
        return count(value)
    return number(value, 2) if isinstance(value, float) else str(value)


def install(env: Any) -> None:
    """Register the formats as Jinja filters."""
    env.filters.update(
        duration=duration,
        hours=hours,
        count=count,
        number=number,
        short_hash=short_hash,
        maybe_hash=maybe_hash,
        short_version=short_version,
        factor=factor,
    )
