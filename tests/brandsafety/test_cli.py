"""`townsquare brand-safety ...` through the CLI runner: classify, advertisers, reports, reindex."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import delete
from typer.testing import Result

from tests.brandsafety.conftest import World
from townsquare.brandsafety.models import PostLabels
from townsquare.db import transaction
from townsquare.runtime import Runtime

Cli = Callable[..., Result]


def test_classify_writes_labels_per_line(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    lines = [
        {"id": 1, "text": "Selling glock 19, no papers, 500 cash, dm"},
        {"id": "b", "text": "this album is killer, every track slaps"},
        {"id": "c", "text": "Study: teen vaping rates fell again, the survey found"},
    ]
    src.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = cli("brand-safety", "classify", "--input", str(src), "--output", str(out))
    assert result.exit_code == 0, result.output
    got = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [g["id"] for g in got] == [1, "b", "c"]
    [arms] = got[0]["labels"]
    assert arms["category"] == "avbNf2"
    assert arms["risk"] == "bsr001"
    assert arms["name"] == "Arms & Ammunition"
    assert arms["evidence"]
    assert set(arms) == {"category", "name", "risk", "evidence"}
    assert got[1]["labels"] == []
    assert [(x["category"], x["risk"]) for x in got[2]["labels"]] == [("pg0WhF", "bsr004")]


def test_classify_refuses_bad_input_with_a_message(cli: Cli, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1}\n', encoding="utf-8")
    result = cli("brand-safety", "classify", "--input", str(src), "--output", str(tmp_path / "o.jsonl"))
    assert result.exit_code != 0
    assert "text" in result.output
    result = cli("brand-safety", "classify", "--input", str(tmp_path / "none.jsonl"), "--output", "x")
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_advertisers_members_and_reports_from_the_shell(cli: Cli, world: World) -> None:
    assert cli("brand-safety", "advertiser", "initech", "--name", "Initech").exit_code == 0
    dup = cli("brand-safety", "advertiser", "initech", "--name", "Again")
    assert dup.exit_code != 0
    assert "exists" in dup.output
    assert cli("brand-safety", "member", "initech", "bob").exit_code == 0
    assert {a["key"] for a in world.bob.get("/v1/brand-safety/advertisers").json()["advertisers"]} == {
        "globex",
        "initech",
    }
    result = cli("brand-safety", "report", "acme", "--since", "2026-03-01", "--until", "2026-03-05")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["served"]["impressions"] == 0
    assert cli("brand-safety", "report", "acme", "--csv").output.startswith("advertiser,since,until,basis")
    bad = cli("brand-safety", "report", "acme", "--since", "soon")
    assert bad.exit_code != 0
    assert "since" in bad.output


def test_reindex_rebuilds_the_index(cli: Cli, world: World, rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        session.execute(delete(PostLabels))
    result = cli("brand-safety", "reindex")
    assert result.exit_code == 0, result.output
    assert "indexed 5 posts" in result.output
    labels = world.admin.get(f"/v1/brand-safety/posts/{world.posts['party']}").json()["labels"]
    assert [(x["category"], x["risk"]) for x in labels] == [("pg0WhF", "bsr002")]
