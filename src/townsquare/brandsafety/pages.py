"""The advertiser report page: figures, a server-drawn SVG chart (no script: the CSP forbids inline code)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from townsquare.access.permissions import Principal, require
from townsquare.access.roles import BRANDSAFETY_REPORTS
from townsquare.brandsafety import report, service
from townsquare.brandsafety import taxonomy as tx
from townsquare.content.api import RT
from townsquare.db import transaction
from townsquare.errors import TownsquareError
from townsquare.web.render import WEB, csrf_token

router = APIRouter()
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# Our pages extend the workbench's base.html (navigation, log-out form, stylesheet).
templates.env.loader = ChoiceLoader(
    [FileSystemLoader(Path(__file__).parent / "templates"), FileSystemLoader(WEB / "templates")]
)

COLOURS = {"bsr001": "#7f1d1d", "bsr002": "#dc2626", "bsr003": "#f59e0b", "bsr004": "#93c5fd"}
BAR_MAX = 360  # pixels for a share of 1.0
ROW = 34


def chart(rep: dict[str, Any]) -> dict[str, Any]:
    """Bars per category, served above now, stacked by risk; geometry computed here, drawn by the template."""
    rows = []
    for i, cat in enumerate(tx.CATEGORY_IDS):
        y = 10 + i * ROW
        bars = []
        for j, basis in enumerate(("served", "now")):
            x = 250.0
            for risk in tx.RISK_IDS:
                share = next(
                    (
                        c["share"]
                        for c in rep[basis]["categories"]
                        if c["category"] == cat and c["risk"] == risk
                    ),
                    0.0,
                )
                width = round(share * BAR_MAX, 1)
                if width > 0:
                    bars.append({"x": x, "y": y + j * 13, "w": width, "fill": COLOURS[risk],
                                 "title": f"{basis}: {tx.risk_name(risk)} {share:.1%}"})  # fmt: skip
                    x += width
        rows.append({"y": y, "name": tx.category_name(cat), "bars": bars})
    return {
        "rows": rows,
        "height": 20 + len(rows) * ROW,
        "legend": [(tx.risk_name(r), COLOURS[r]) for r in tx.RISK_IDS],
    }


@router.get("/brand-safety/report", response_class=HTMLResponse, include_in_schema=False)
def report_page(
    request: Request,
    rt: RT,
    who: Annotated[Principal, Depends(require(BRANDSAFETY_REPORTS))],
    advertiser: str = "",
    since: str = "",
    until: str = "",
) -> HTMLResponse:
    """The advertiser report with a chart; links to the JSON, CSV and the verifiable export."""
    ctx: dict[str, Any] = {"principal": who, "since": since, "until": until, "error": None, "rep": None}
    status = 200
    with transaction(rt.sessions) as session:
        ctx["csrf_token"] = csrf_token(session, who)
        ctx["advertisers"] = service.list_advertisers(session, who)
        key = advertiser or (ctx["advertisers"][0]["key"] if ctx["advertisers"] else "")
        ctx["advertiser"] = key
        if key:
            try:
                start, end = report.parse_range(since or "1970-01-01", until or "9999-12-31")
                rep = report.build(session, rt, who, key, start, end)
                q = urlencode({"since": since or "1970-01-01", "until": until or "9999-12-31"})
                ctx.update(rep=rep, chart=chart(rep), query=q)
            except TownsquareError as exc:
                ctx["error"], status = exc.message, exc.status
    return templates.TemplateResponse(request, "brand_safety_report.html", ctx, status_code=status)
