"""axe-core in the page under test: the WCAG 2.x A/AA rules, and what they find that is serious or worse.

The vendored `vendor/axe-core/axe.min.js` (see its PROVENANCE.md) is evaluated through the DevTools
protocol, which the page's Content-Security-Policy does not govern; Townsquare never serves it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_SOURCE: list[str] = []


def violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """The axe violations of the current page at these impacts (rule id, help, the first nodes)."""
    if not _SOURCE:
        _SOURCE.append(AXE.read_text(encoding="utf-8"))
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_SOURCE[0] + "\n;undefined")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        TAGS,
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:3]],
            "summary": v["nodes"][0].get("failureSummary", "") if v["nodes"] else "",
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two CSS colours given as `rgb(r, g, b)` or `rgba(...)`."""

    def luminance(css: str) -> float:
        parts = [float(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3]]
        lin = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
