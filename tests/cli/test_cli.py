"""The `townsquare` command through the CLI runner: migrate, ingest, audit, erase, policies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from typer.testing import Result

from tests.conftest import seed_user
from tests.fixtures import factories
from townsquare.app import create_app
from townsquare.config import Settings, get_settings
from townsquare.runtime import Runtime, build_runtime

SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"
BORDERLINE_HATE = (
    "They are subhuman."  # no violation under hate_speech v1, v3 and the live v4, review under v2
)
Cli = Callable[..., Result]


def _clean(result: Result, code: int) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _approve_elsewhere(settings: Settings, result: Result) -> None:
    """A second publisher approves the CLI's request, in a process of its own (a second runtime)."""
    _clean(result, 0)
    match = re.search(r"approval #(\d+) requested", result.output)
    assert match, result.output
    other = build_runtime(settings)
    try:
        token = seed_user(other, "publisher2", ["policy_publisher"])
        with TestClient(create_app(runtime=other, keep_chain=False)) as c:
            r = c.post(
                f"/v1/approvals/{match.group(1)}/approve",
                json={"reason": "checked"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert (r.status_code, r.json()["status"]) == (200, "approved"), r.text
    finally:
        other.dispose()


def _jsonl(path: Path, lines: list[Any]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_db_upgrade_migrates_an_empty_sqlite_file(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fresh" / "new.db"
    path.parent.mkdir()
    path.touch()  # a zero-byte file is an empty SQLite database
    url = f"sqlite:///{path}"
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", url)
    get_settings.cache_clear()
    for _ in range(2):  # running it again is a no-op
        result = cli("db", "upgrade")
        _clean(result, 0)
        assert "database at head" in result.output
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"accounts", "posts", "events", "actions", "strikes", "policy_versions"} <= tables
    verified = cli("audit", "verify")  # the first command records the policy versions
    _clean(verified, 0)
    assert verified.output.startswith("OK:")


def test_ingest_loads_good_records_and_reports_rejected_lines(
    cli: Cli, client: TestClient, tmp_path: Path
) -> None:
    alice, bob = factories.account(), factories.account()
    calm = factories.post(alice["platform_id"])
    scam = factories.post(alice["platform_id"], SCAM)
    orphan = factories.post("acct-nobody")
    path = _jsonl(
        tmp_path / "records.jsonl",
        [
            {"kind": "account", **alice},
            {"kind": "account", **bob},
            {"kind": "post", **calm},
            {"kind": "post", **scam},
            {"kind": "post", **orphan},
            {
                "kind": "metrics",
                "post": calm["platform_id"],
                "views": 420,
                "observed_at": "2026-03-02T12:00:00Z",
            },
            {
                "kind": "report",
                "reporter": bob["platform_id"],
                "subject_type": "post",
                "subject": calm["platform_id"],
                "reason": "spam",
                "text": "looks like spam",
            },
            "{not json",
            "",
            {"kind": "tweet", "text": "unknown kind"},
        ],
    )
    result = cli("ingest", str(path))
    _clean(result, 1)
    out = result.output
    assert "Ingest summary" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 5}
    assert [c.strip() for c in rows["account"].split("│")[2:5]] == ["2", "0", "0"]
    assert [c.strip() for c in rows["post"].split("│")[2:5]] == ["2", "0", "1"]
    assert [c.strip() for c in rows["metrics"].split("│")[2:5]] == ["1", "0", "0"]
    assert [c.strip() for c in rows["report"].split("│")[2:5]] == ["1", "0", "0"]
    assert [c.strip() for c in rows["line"].split("│")[2:5]] == ["0", "0", "2"]
    assert "line 8: not valid JSON" in out
    assert "line 10: kind must be one of" in out
    assert "line 5:" in out
    assert "unknown author acct-nobody" in out

    stored = client.get(f"/v1/posts/{calm['platform_id']}").json()
    assert (stored["views"], len(stored["view_snapshots"])) == (420, 1)
    assert client.get(f"/v1/posts/{scam['platform_id']}").json()["status"] == "removed"
    assert client.get(f"/v1/posts/{orphan['platform_id']}").status_code == 404
    assert client.get(f"/v1/accounts/{bob['platform_id']}").status_code == 200


def test_ingest_of_a_missing_file_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", str(tmp_path / "nope.jsonl"))
    _clean(result, 2)
    assert "nope.jsonl: no such file" in result.stderr


def test_ingest_of_a_file_that_is_not_utf8_is_a_clear_error(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"kind": "account", "handle": "caf\xe9"}\n')
    result = cli("ingest", str(path))
    _clean(result, 2)
    assert "not UTF-8" in result.stderr


def _tamper(rt: Runtime) -> None:
    with rt.engine.begin() as conn:
        if rt.engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(
            text("UPDATE events SET body = replace(body, :old, :new) WHERE type = 'account.created'"),
            {"old": '"follower_count":120', "new": '"follower_count":9000'},
        )


def test_audit_verify_then_tamper(cli: Cli, client: TestClient, rt: Runtime) -> None:
    client.post("/v1/accounts", json=factories.account())
    ok = cli("audit", "verify")
    _clean(ok, 0)
    assert ok.output.startswith("OK:")

    _tamper(rt)
    bad = cli("audit", "verify")
    _clean(bad, 1)
    assert "TAMPERED" in bad.stderr
    assert "body altered" in bad.stderr


def test_audit_checkpoint_signs_the_head(cli: Cli, client: TestClient, settings: Settings) -> None:
    client.post("/v1/accounts", json=factories.account())
    result = cli("audit", "checkpoint")
    _clean(result, 0)
    assert result.output.startswith("checkpoint: seq ")
    lines = settings.checkpoint_log_path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["seq"] >= 1
    verified = cli("audit", "verify")
    _clean(verified, 0)
    assert "latest checkpoint seq" in verified.output


def test_accounts_erase_keeps_the_chain_valid(cli: Cli, client: TestClient) -> None:
    account = factories.account(handle="erin_personal", bio="Lives on Elm Street")
    client.post("/v1/accounts", json=account)
    post = factories.post(account["platform_id"], "My phone number is in my bio")
    client.post("/v1/posts", json=post)
    pid = account["platform_id"]

    result = cli("accounts", "erase", pid, "--reason", "GDPR Art. 17 request")
    _clean(result, 0)
    assert f"erased {pid}" in result.output
    _clean(cli("audit", "verify"), 0)

    view = client.get(f"/v1/accounts/{pid}").json()
    assert (view["handle"], view["erased"]) == ("[erased]", True)
    assert "Elm Street" not in json.dumps(view)
    created = next(h for h in view["history"] if h["type"] == "account.created")
    assert created["payload"]["handle"] == "[erased]"
    assert created["payload"]["bio"] == "[erased]"
    assert client.get(f"/v1/posts/{post['platform_id']}").json()["text"] == "[erased]"

    again = cli("accounts", "erase", pid)
    _clean(again, 2)
    assert "already erased" in again.stderr
    unknown = cli("accounts", "erase", "acct-nobody")
    _clean(unknown, 2)
    assert "error:" in unknown.stderr


def test_policy_list_publish_and_backtest(cli: Cli, client: TestClient, settings: Settings) -> None:
    author = factories.account()
    client.post("/v1/accounts", json=author)
    hate = factories.post(author["platform_id"], BORDERLINE_HATE)
    for body in (hate, factories.post(author["platform_id"]), factories.post(author["platform_id"], SCAM)):
        client.post("/v1/posts", json=body)

    listed = cli("policy", "list")
    _clean(listed, 0)
    hate_rows = [line for line in listed.output.splitlines() if "hate_speech" in line]
    assert len(hate_rows) == 4
    assert "retired" in hate_rows[0]
    assert "shadow" in hate_rows[1]
    assert "retired" in hate_rows[2]
    assert "live" in hate_rows[3]

    backtest = cli("policy", "backtest", "hate_speech", "--version", "2")
    _clean(backtest, 0)
    out = backtest.output
    assert "hate_speech: 3 posts replayed" in out
    rows = {
        line.split("│")[1].strip(): line.split("│")[2:5] for line in out.splitlines() if line.count("│") == 5
    }
    assert [c.strip() for c in rows["no_violation"]] == ["3", "2", "-1"]
    assert [c.strip() for c in rows["review:remove"]] == ["0", "1", "+1"]
    assert "1 posts would be decided differently" in out
    assert f"{hate['platform_id']}: no_violation -> review:remove: '{BORDERLINE_HATE}'" in out

    published = cli("policy", "publish", "hate_speech", "--version", "2", "--state", "live", "--reason", "x")
    _clean(published, 0)
    assert "requested: publish hate_speech v2 as live" in published.output
    states = {(v["area"], v["version"]): v["state"] for v in client.get("/v1/policies").json()}
    assert (states[("hate_speech", 2)], states[("hate_speech", 4)]) == ("shadow", "live")  # not yet
    pending = client.get("/v1/approvals").json()
    assert [(a["kind"], a["requested_by"]) for a in pending] == [("policy_publish", "cli:operator")]
    _approve_elsewhere(settings, published)
    states = {(v["area"], v["version"]): v["state"] for v in client.get("/v1/policies").json()}
    assert (states[("hate_speech", 2)], states[("hate_speech", 4)]) == ("live", "retired")
    relisted = [line for line in cli("policy", "list").output.splitlines() if "hate_speech" in line]
    assert "retired" in relisted[0]
    assert "live" in relisted[1]
    assert "retired" in relisted[2]
    assert "retired" in relisted[3]


@pytest.mark.parametrize(
    "args",
    [
        ("policy", "backtest", "no_such_area", "--version", "1"),
        ("policy", "publish", "no_such_area", "--version", "1", "--reason", "x"),
        ("policy", "backtest", "hate_speech", "--version", "9"),
        ("policy", "publish", "hate_speech", "--version", "2", "--state", "promoted", "--reason", "x"),
    ],
)
def test_policy_commands_refuse_unknown_areas_versions_and_states(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "error:" in result.stderr


def test_a_cli_publish_reaches_the_running_service(cli: Cli, client: TestClient, settings: Settings) -> None:
    author = factories.account()
    client.post("/v1/accounts", json=author)
    _approve_elsewhere(
        settings,
        cli("policy", "publish", "hate_speech", "--version", "2", "--state", "live", "--reason", "x"),
    )
    r = client.post("/v1/posts", json=factories.post(author["platform_id"], BORDERLINE_HATE))
    decision = r.json()["decision"]
    assert (decision["policy"], decision["policy_version"]) == ("hate_speech", 2)


def test_a_cli_publish_is_cited_by_the_next_human_action_and_version_view(
    cli: Cli, client: TestClient, settings: Settings
) -> None:
    author = factories.account()
    client.post("/v1/accounts", json=author)
    post = factories.post(author["platform_id"], "Immigrants are vermin.")
    client.post("/v1/posts", json=post)
    _approve_elsewhere(
        settings,
        cli("policy", "publish", "hate_speech", "--version", "2", "--state", "live", "--reason", "x"),
    )

    assert client.get("/v1/policies/hate_speech/versions/2").json()["state"] == "live"
    body = {
        "action": "remove",
        "policy": "hate_speech",
        "post": post["platform_id"],
        "reason": "dehumanising",
    }
    action = client.post("/v1/actions", json=body).json()
    assert action["policy_version"] == 2
    statement = client.get(f"/v1/actions/{action['id']}/statement").json()
    assert statement["incompatible_content_ground"].endswith("version 2")


def test_ingest_reports_odd_lines_by_number_stores_the_rest_and_a_rerun_skips_what_is_stored(
    cli: Cli, client: TestClient, tmp_path: Path
) -> None:
    alice = factories.account()
    good = [factories.post(alice["platform_id"]) for _ in range(3)]
    year_zero = factories.post(alice["platform_id"], created_at="0001-01-01T00:00:00+01:00")
    surrogate = (
        '{"kind": "post", "platform_id": "p-\\ud800", "author": "a", "text": "x", "created_at": "2026"}'
    )
    report = factories.report(good[0]["platform_id"])
    snapshot = {"post": good[1]["platform_id"], "views": 7, "observed_at": "9999-12-31T23:59:59-01:00"}
    path = _jsonl(
        tmp_path / "odd.jsonl",
        [
            {"kind": "account", **alice},
            {"kind": "post", **good[0]},
            {"kind": "post", **year_zero},
            surrogate,
            {"kind": "post", **good[1]},
            {"kind": "metrics", **snapshot},
            {"kind": "report", **report},
            {"kind": "post", **good[2]},
        ],
    )

    first = cli("ingest", str(path))

    _clean(first, 1)
    assert "line 3: " in first.output
    assert "created_at" in first.output
    assert "line 4: " in first.output
    assert "line 6: " in first.output
    assert "observed_at" in first.output
    for post in good:
        assert client.get(f"/v1/posts/{post['platform_id']}").status_code == 200
    assert client.get(f"/v1/posts/{year_zero['platform_id']}").status_code == 404

    again = cli("ingest", str(path))

    _clean(again, 1)  # the odd lines are still odd
    rows = {line.split("│")[1].strip(): line for line in again.output.splitlines() if line.count("│") >= 5}
    assert [c.strip() for c in rows["post"].split("│")[2:5]] == ["0", "3", "2"]
    assert [c.strip() for c in rows["account"].split("│")[2:5]] == ["0", "1", "0"]
    assert [c.strip() for c in rows["report"].split("│")[2:5]] == ["0", "1", "0"]
    assert client.get(f"/v1/posts/{good[0]['platform_id']}").json()["report_count"] == 1
