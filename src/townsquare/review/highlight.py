"""Highlight, in a post's text, the phrases its evidence names (model phrases, text-bank terms and
patterns, identity terms), so a moderator sees at once what drove the score.

Evidence is matched on the words of the phrase, in order, ignoring case and the punctuation or spacing
between them; a phrase found only in the normalised form (a leetspeak spelling, a placeholder such as
"@user") is simply not highlighted. The text is escaped; only the `<mark>` elements are markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

HIGHLIGHTED = ("phrase", "term", "pattern", "identity_term")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def _pattern(match: str) -> re.Pattern[str] | None:
    words = _WORD.findall(match)
    if not words:
        return None
    body = r"[\W_]+".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![^\W_]){body}(?![^\W_])", re.IGNORECASE)


def spans(text: str, signals: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, str]]:
    """(start, end, why) of every evidence phrase found in `text`, overlapping ones merged."""
    found: list[tuple[int, int, str]] = []
    for s in signals:
        for e in s.get("evidence") or ():
            if e.get("kind") not in HIGHLIGHTED or not e.get("match"):
                continue
            pattern = _pattern(str(e["match"]))
            if pattern is None:
                continue
            why = f"{s.get('scorer', '')}: {e['kind'].replace('_', ' ')} “{e['match']}”"
            found += [(m.start(), m.end(), why) for m in pattern.finditer(text)]
    merged: list[tuple[int, int, str]] = []
    for start, end, why in sorted(found):
        if merged and start < merged[-1][1]:
            last = merged[-1]
            reasons = last[2] if why in last[2] else f"{last[2]}; {why}"
            merged[-1] = (last[0], max(last[1], end), reasons)
        else:
            merged.append((start, end, why))
    return merged


def highlight(text: str | None, signals: Iterable[Mapping[str, Any]] | None) -> Markup:
    """The escaped text with each evidence phrase in `<mark class="evidence" title="why">`."""
    text = text or ""
    out, at = [], 0
    for start, end, why in spans(text, signals or ()):
        out.append(escape(text[at:start]))
        out.append(Markup('<mark class="evidence" title="{}">{}</mark>').format(why, text[start:end]))
        at = end
    out.append(escape(text[at:]))
    return Markup("").join(out)
