"""`townsquare report transparency`: the eleven parts with the official headers and row keys, report.json,
index.html; figures that match the scenario; bad input refused with nothing written."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from tests.conftest import Clock
from townsquare.transparency.templates_dsa import MAP, PART_FILES, template

Cli = Callable[..., Result]


def _read(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _row(rows: list[list[str]], *keys: str) -> list[str]:
    hits = [r for r in rows if all(k in [c.strip() for c in r] for k in keys)]
    assert hits, keys
    return hits[0]


def test_the_report_has_every_part_with_the_official_headers_and_keys(
    cli: Cli, scenario: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    res = cli("report", "transparency", "--from", "2026-03-01", "--to", "2026-03-05", "--output", str(out))
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == sorted([*PART_FILES, "report.json", "index.html"])
    for name in PART_FILES:
        header, rows = template(name)
        got = _read(out / name)
        assert got[0] == header, name  # exactly the official header
        keys = [r[3] if name not in ("Part_1_summary.csv",) else r[2] for r in got[1:]]
        official = [r[3] if name not in ("Part_1_summary.csv",) else r[2] for r in rows]
        placeholder = {"AT", "[...]", "SE", "bg", "sv", "AT, […], SE"}
        if name in ("Part_2_categories_names.csv",):
            assert [r[:3] for r in got[1:]] == [r[:3] for r in rows]
        elif not name.startswith(("Part_8", "Part_9", "Part_10")):
            # Same keys in the same order (Part 3's Member State rows expand the placeholder block).
            assert [k for k in dict.fromkeys(keys)] == [k for k in dict.fromkeys(official)], name
        for r in got[1:]:
            assert len(r) == len(header)
            assert not (
                set(c.strip() for c in r)
                & {"YYYY-MM-DD/YYYY-MM-DD", "Free text", "[...]", "[…]"} - placeholder
            )
    p3 = _read(out / "Part_3_member_states_orders.csv")
    assert {r[5] for r in p3[1:]} == {"TOTAL", *MAP["member_states"]}
    p10 = _read(out / "Part_10_AMAR.csv")
    assert [r[5] for r in p10[1:]] == ["TOTAL", *MAP["member_states"]]
    assert all(r[2] == "2026-03-01/2026-03-05" for r in p10[1:])


def test_the_figures_follow_the_scenario(cli: Cli, scenario: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert (
        cli(
            "report", "transparency", "--from", "2026-03-01", "--to", "2026-03-05", "--output", str(out)
        ).exit_code
        == 0
    )
    p4 = _read(out / "Part_4_notices.csv")
    total = dict(zip(p4[0], p4[1], strict=True))
    assert total["Number of notices received "] == "2"
    assert total["Number of notices received from Trusted flaggers"] == "1"
    assert total["Number of specific items of information included in the total number of notices"] == "2"
    assert total["Number of actions taken on the basis of the terms and conditions of the service"] == "1"
    assert total["Number of actions taken on the basis of the law"] == "0"
    assert float(total["Median time to take action"]) == pytest.approx(5.0, abs=0.01)
    cyber = dict(zip(p4[0], _row(p4, "STATEMENT_CATEGORY_CYBER_VIOLENCE"), strict=True))
    assert cyber["Number of notices received "] == "1"
    p6 = _read(out / "Part_6_own_initiative_TC.csv")
    t6 = dict(zip(p6[0], p6[1], strict=True))
    # The two automated removals, and the moderator's removal of the threat (its statement of reasons says
    # voluntary source, no automated detection), as each statement of reasons records them.
    assert t6["Visibility restriction Removal"] == "3"
    assert t6["Number of measures taken after detection with solely automated means "] == "2"
    cyber6 = dict(zip(p6[0], _row(p6, "STATEMENT_CATEGORY_CYBER_VIOLENCE"), strict=True))
    assert cyber6["Visibility restriction Removal"] == "1"
    assert t6["Visibility restriction Disable"] == ""  # a restriction Townsquare never imposes: blank
    scams = dict(zip(p6[0], _row(p6, "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"), strict=True))
    assert scams["Number of measures taken at the provider's own initiative "] == "2"
    p7 = _read(out / "Part_7_appeals_and_recidivism.csv")
    assert (
        _row(p7, "Number of complaints submitted to the internal-complaints mechanism", "Total number")[6]
        == "1"
    )
    assert (
        _row(p7, "Number of complaints submitted to the internal-complaints mechanism", "Decisions reversed")[
            6
        ]
        == "1"
    )
    assert float(
        _row(p7, "Number of complaints submitted to the internal-complaints mechanism", "Median time")[6]
    ) == pytest.approx(3.0, abs=0.01)
    p8 = _read(out / "Part_8_automated_means.csv")
    assert _row(p8, "Number of measures solely taken by automated means", "Total number")[6] == "2"
    precision = _row(p8, "Accuracy of the automated means - Precision", "Total number")
    assert float(precision[6]) == 0.5  # one of two QA samples confirmed
    assert "95%" in precision[7]
    assert "Wilson" in precision[7]
    rep = json.loads((out / "report.json").read_text())
    civil = rep["civil_rights"]
    assert civil["median_hours_to_action_on_reports"]["harassment_threats"] == 5.0
    assert civil["reporters_told_outcome"] == {"decided": 2, "told": 1, "share": 0.5}
    assert rep["figures"]["automated"]["total"]["confusion"] == {"tp": 1, "fp": 1, "fn": 1, "tn": 1}
    html = (out / "index.html").read_text()
    assert "<svg" in html
    assert "<script" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_vlop_rows_stay_blank_unless_the_service_is_a_vlop(
    cli: Cli, scenario: dict[str, Any], tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert (
        cli(
            "report", "transparency", "--from", "2026-03-01", "--to", "2026-03-05", "--output", str(a)
        ).exit_code
        == 0
    )
    assert cli("report", "transparency", "--from", "2026-03-01", "--to", "2026-03-05", "--output", str(b),
               "--vlop").exit_code == 0  # fmt: skip
    assert {r[6] for r in _read(a / "Part_9_human_resources.csv")[1:]} == {""}
    internal = _row(
        _read(b / "Part_9_human_resources.csv"), "Number of internal moderators employed by the provider"
    )
    assert internal[6] == "2"  # the moderator and the appeals reviewer


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--from", "2026-03-05", "--to", "2026-03-01"), "inverted"),
        (("--from", "2026-03-01", "--to", "2099-04-30"), "to must be a day that has ended"),
        (("--from", "2026-3-1x", "--to", "2026-03-05"), "from is not a date"),
        (("--from", "", "--to", "2026-03-05"), "from is required"),
    ],
)
def test_bad_periods_are_refused_and_nothing_is_written(
    cli: Cli, clock: Clock, tmp_path: Path, args: tuple[str, ...], needle: str
) -> None:
    clock.advance(days=10)
    out = tmp_path / "never"
    res = cli("report", "transparency", *args, "--output", str(out))
    assert res.exit_code != 0
    assert needle in res.output
    assert not out.exists()
