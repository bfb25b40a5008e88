"""`townsquare export dsa` and `townsquare submit dsa` against a local Transparency Database fixture."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import Result

from tests.fixtures import factories as f
from tests.fixtures.tdb_server import TransparencyDatabase, check
from tests.transparency.conftest import HANDLE, SCAM, account
from townsquare.db import transaction
from townsquare.enforcement.models import Action
from townsquare.runtime import Runtime
from townsquare.transparency import sor

Cli = Callable[..., Result]


@pytest.fixture
def tdb() -> Iterator[TransparencyDatabase]:
    """The fixture service, running."""
    db = TransparencyDatabase().start()
    yield db
    db.stop()


def _scams(platform: TestClient, n: int) -> str:
    author = account(platform, handle=HANDLE)
    posts = [f.post(author, f"{SCAM} #{i}") for i in range(n)]
    resp = platform.post("/v1/posts/batch", json={"posts": posts})
    assert resp.status_code == 200, resp.text
    return author


def _actions(rt: Runtime) -> list[tuple[int, str]]:
    with transaction(rt.sessions) as session:
        return [(a, p) for a, p in session.execute(select(Action.id, Action.puid).order_by(Action.id))]


def _cursor(res: Result) -> str:
    return res.output.split("next cursor:", 1)[1].split()[0]


def test_export_writes_batches_of_100_that_pass_the_database_rules_without_personal_data(
    cli: Cli, platform: TestClient, trt: Runtime, tmp_path: Path
) -> None:
    author = _scams(platform, 105)
    actions = _actions(trt)
    assert len(actions) == 105
    out = tmp_path / "sor.json"
    res = cli("export", "dsa", "--output", str(out))
    assert res.exit_code == 0, res.output
    first = json.loads(out.read_text())
    second = json.loads((tmp_path / "sor-0002.json").read_text())
    assert set(first) == {"statements"}
    assert [len(first["statements"]), len(second["statements"])] == [100, 5]
    statements = first["statements"] + second["statements"]
    assert all(check(s) == {} for s in statements)  # every statement passes the database's rules
    assert len({s["puid"] for s in statements}) == 105
    text = out.read_text() + (tmp_path / "sor-0002.json").read_text()
    for private in (author, HANDLE, *(p for _, p in actions)):  # no account ids, handles or stored puids
        assert private not in text
    # Continue from the cursor: only what is new.
    cursor = _cursor(res)
    _scams(platform, 1)
    res2 = cli("export", "dsa", "--since", cursor, "--output", str(tmp_path / "more.json"))
    assert res2.exit_code == 0, res2.output
    assert len(json.loads((tmp_path / "more.json").read_text())["statements"]) == 1


def test_forged_and_stale_cursors_are_refused_and_nothing_is_written(
    cli: Cli, platform: TestClient, trt: Runtime, tmp_path: Path
) -> None:
    _scams(platform, 2)
    res = cli("export", "dsa", "--output", str(tmp_path / "a.json"))
    cursor = _cursor(res)
    body, mac = cursor.split(".")
    forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + mac
    for bad, needle in (
        (forged, "forged"),
        ("not-a-cursor", "forged"),
        (sor.make_cursor(trt, 10**9), "stale"),
    ):
        out = tmp_path / "never.json"
        r = cli("export", "dsa", "--since", bad, "--output", str(out))
        assert r.exit_code != 0
        assert "since" in r.output
        assert needle in r.output
        assert not out.exists()


def test_submit_sends_everything_once_and_resumes(
    cli: Cli, platform: TestClient, trt: Runtime, tdb: TransparencyDatabase, tmp_path: Path
) -> None:
    _scams(platform, 130)
    token = tmp_path / "token"
    token.write_text(tdb.token + "\n")
    args = ("submit", "dsa", "--endpoint", tdb.url, "--token-file", str(token), "--backoff", "0")
    tdb.script = ["503", "lost"]  # a 5xx, then a batch stored whose answer is lost
    res = cli(*args)
    assert res.exit_code == 0, res.output
    assert len(tdb.held) == 130  # all held, each exactly once
    assert "30 already held" in res.output or "100 already held" in res.output
    assert all(check({k: v for k, v in s.items() if k != "uuid"}) == {} for s in tdb.held.values())
    again = cli(*args)
    assert again.exit_code == 0
    assert "sent 0 statements in 0 batch(es)" in again.output
    assert len(tdb.held) == 130
    # A failure that outlasts the retries stops the run; the next run resumes where it stopped.
    _scams(platform, 3)
    tdb.script = ["500", "500", "500"]
    failed = cli(*args, "--attempts", "3")
    assert failed.exit_code != 0
    assert "run again to resume" in failed.output
    resumed = cli(*args)
    assert resumed.exit_code == 0, resumed.output
    assert "sent 3 statements" in resumed.output
    assert len(tdb.held) == 133
    with transaction(trt.sessions) as session:
        from townsquare.transparency.models import StatementSent

        assert session.scalar(select(func.count()).select_from(StatementSent)) == 133


def test_submit_refuses_a_wrong_token_and_bad_arguments(
    cli: Cli, platform: TestClient, tdb: TransparencyDatabase, tmp_path: Path
) -> None:
    _scams(platform, 1)
    token = tmp_path / "token"
    token.write_text("wrong")
    res = cli("submit", "dsa", "--endpoint", tdb.url, "--token-file", str(token), "--backoff", "0")
    assert res.exit_code != 0
    assert "401" in res.output
    assert tdb.held == {}
    missing = cli("submit", "dsa", "--endpoint", tdb.url, "--token-file", str(tmp_path / "nope"))
    assert missing.exit_code != 0
    assert "token-file" in missing.output
    bad = cli("submit", "dsa", "--endpoint", "ftp://x", "--token-file", str(token))
    assert bad.exit_code != 0
    assert "endpoint" in bad.output


def test_the_fixture_applies_the_rules(tdb: TransparencyDatabase) -> None:
    """The fixture refuses what the database refuses (so a pass above means something)."""
    base: dict[str, Any] = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "rule 1",
        "incompatible_content_explanation": "why",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "content_date": "2026-03-01",
        "application_date": "2026-03-02",
        "decision_facts": "facts",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "puid": "abc-1",
    }
    assert check(base) == {}
    assert "decision_visibility" in check({k: v for k, v in base.items() if k != "decision_visibility"})
    assert "content_date" in check({**base, "content_date": "1999-12-31"})
    assert "puid" in check({**base, "puid": "has space"})
    assert "category_specification_other" in check({**base, "category_specification": ["KEYWORD_OTHER"]})
    assert "illegal_content_legal_ground" in check(
        {**base, "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT"}
    )


def test_a_timeout_is_retried_with_growing_waits(
    platform: TestClient, trt: Runtime, tdb: TransparencyDatabase
) -> None:
    import httpx

    from townsquare.transparency.submit import Submitter

    _scams(platform, 2)
    waits: list[float] = []
    tdb.script = ["slow", "503"]
    sub = Submitter(
        trt, tdb.url, tdb.token, client=httpx.Client(timeout=0.3), backoff_s=1.0, sleep=waits.append
    )
    out = sub.run()
    assert (out.created, out.retries, waits) == (2, 2, [1.0, 2.0])
    assert "ReadTimeout" in out.log[0]
