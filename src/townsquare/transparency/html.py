"""The report as an HTML page with inline SVG charts (also written as index.html by the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from townsquare.taxonomy import area_title
from townsquare.transparency.charts import bars
from townsquare.transparency.templates_dsa import MAP
from townsquare.web.render import WEB

HERE = Path(__file__).parent
ENV = Environment(
    loader=ChoiceLoader([FileSystemLoader(HERE / "templates"), FileSystemLoader(WEB / "templates")]),
    autoescape=select_autoescape(["html"]),
)


def _cat(name: str) -> str:
    return name.removeprefix("STATEMENT_CATEGORY_").replace("_", " ").capitalize()


def charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts of the report page."""
    f = report["figures"]
    notices = sorted(f["notices"]["by_category"].items(), key=lambda kv: -kv[1])
    terms, illegal = f["own_initiative_terms"], f["own_initiative_illegal"]
    by_restriction = [
        (col, terms["by_restriction"].get(col, 0) + illegal["by_restriction"].get(col, 0))
        for col in MAP["ladder"].values()
    ]
    appeals = f["appeals"]["total"]
    return [
        bars("Notices received by category", [(_cat(k), v) for k, v in notices]),
        bars("Own-initiative measures by restriction", by_restriction),
        bars(
            "Measures: solely automated or not",
            [
                ("Solely automated", f["automated"]["total"]["solely"]),
                ("Not solely automated", f["automated"]["total"]["not"]),
            ],
        ),
        bars(
            "Complaints (appeals) and their outcomes",
            [
                (k, appeals.get(k) or 0)
                for k in ("Total number", *MAP["appeal_outcomes"].values(), "Decision omitted")
            ],
        ),
    ]


def render(report: dict[str, Any], files: list[tuple[str, str]] | None = None, base: str = "") -> str:
    """The page; `files` are (name, url) links to the CSV parts and report.json where published."""
    return ENV.get_template("transparency_report_page.html").render(
        rep=report, charts=charts(report), files=files or [], area_title=area_title, static=base
    )
