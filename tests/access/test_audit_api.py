"""The audit API through HTTP: search and filters, pagination, exports, chain status, permissions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import Result

from tests.conftest import Clock, seed_user
from tests.fixtures import audit_events as ae
from tests.fixtures import factories
from townsquare.app import create_app
from townsquare.eventlog.query import CSV_COLUMNS
from townsquare.runtime import Runtime

SECRET_TEXT = "my private diary entry number 4711 about the lake"


def _ids(resp_json: dict[str, object]) -> list[int]:
    return [e["id"] for e in resp_json["events"]]  # type: ignore[attr-defined,index]


def _events(client: TestClient, **params: object) -> dict[str, object]:
    resp = client.get("/v1/audit/events", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, object] = resp.json()
    return body


def _typed(client: TestClient, **params: object) -> set[tuple[str, str]]:
    return {(e["type"], e["actor"]) for e in _events(client, **params)["events"]}  # type: ignore[attr-defined,index]


def test_filters_by_actor_subject_type_and_time(client: TestClient, rt: Runtime, clock: Clock) -> None:
    start = clock.now
    ae.record(rt, "action.applied", "user:alice", ("post", "p-1"), payload={"puid": "a"})
    clock.advance(hours=1)
    ae.record(rt, "action.applied", "user:bob", ("account", "acct-9"), payload={"puid": "b"})
    clock.advance(hours=1)
    ae.record(rt, "strike.issued", "user:bob", ("account", "acct-9"), payload={"puid": "b"})
    assert _typed(client, actor="user:alice") == {("action.applied", "user:alice")}
    assert _typed(client, subject_type="account", subject_id="acct-9") == {
        ("action.applied", "user:bob"),
        ("strike.issued", "user:bob"),
    }
    assert _typed(client, type="strike.issued") == {("strike.issued", "user:bob")}
    window = {
        "since": (start + timedelta(minutes=30)).isoformat(),
        "until": (start + timedelta(minutes=90)).isoformat(),
    }
    assert _typed(client, **window) == {("action.applied", "user:bob")}
    assert _typed(client, actor="user:bob", since="2026-03-02T13:30:00Z") == {("strike.issued", "user:bob")}


def test_type_filter_takes_a_prefix_ending_in_a_star(client: TestClient, rt: Runtime) -> None:
    ae.record(rt, "action.applied", "user:alice", payload={"puid": "a"})
    ae.record(rt, "action.reversed", "user:carol", payload={"puid": "a"})
    ae.record(rt, "actionable.note", "user:alice")
    ae.record(rt, "strike.issued", "user:alice")
    assert {t for t, _ in _typed(client, type="action.*")} == {"action.applied", "action.reversed"}
    assert {t for t, _ in _typed(client, type="action*")} == {
        "action.applied",
        "action.reversed",
        "actionable.note",
    }
    assert {t for t, _ in _typed(client, type="action.applied")} == {"action.applied"}


def test_cursor_pages_through_every_event_newest_first(client: TestClient, rt: Runtime) -> None:
    ae.actions(rt, "user:alice", 25)
    seen: list[int] = []
    cursor = None
    sizes = []
    while True:
        params: dict[str, object] = {"actor": "user:alice", "limit": 10}
        if cursor is not None:
            params["cursor"] = cursor
        page = _events(client, **params)
        ids = _ids(page)
        sizes.append(len(ids))
        assert ids == sorted(ids, reverse=True)
        seen.extend(ids)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sizes == [10, 10, 5]
    assert len(seen) == len(set(seen)) == 25
    assert seen == sorted(seen, reverse=True)


def test_csv_export_has_the_documented_columns_and_every_match(client: TestClient, rt: Runtime) -> None:
    ae.actions(rt, "user:alice", 3, subject=("account", "acct-7"), protected=True)
    ae.record(
        rt,
        "action.reversed",
        "user:bob",
        ("account", "acct-7"),
        payload={"puid": "x"},
        reason="=HYPERLINK(1)",
    )
    ae.record(rt, "strike.issued", "user:carol")
    resp = client.get("/v1/audit/events.csv", params={"subject_id": "acct-7"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="townsquare-audit-' in resp.headers["content-disposition"]
    assert resp.headers["content-disposition"].endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r["type"] for r in rows] == ["action.applied"] * 3 + ["action.reversed"]  # oldest first
    first = rows[0]
    assert (first["actor"], first["subject_type"], first["subject_id"]) == ("user:alice", "account", "acct-7")
    assert first["flags"] == "protected"
    assert json.loads(first["payload"])["protected"] is True
    assert rows[-1]["reason"] == "'=HYPERLINK(1)"  # a spreadsheet must not run it
    same = client.get("/v1/audit/export", params={"subject_id": "acct-7", "format": "csv"})
    assert same.text.splitlines()[1:] == resp.text.splitlines()[1:]


def test_json_export_streams_every_match_without_the_page_limit(client: TestClient, rt: Runtime) -> None:
    ae.actions(rt, "user:alice", 1200)
    resp = client.get("/v1/audit/export", params={"actor": "user:alice", "format": "json"})
    assert resp.status_code == 200
    assert resp.headers["content-disposition"].endswith('.json"')
    body = resp.json()
    assert body["filters"] == {"actor": "user:alice"}
    assert len(body["events"]) == 1200
    assert body["events"][0]["payload"]["action"] == "label"


def test_sealed_fields_never_appear_decrypted(client: TestClient) -> None:
    author = factories.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    post = factories.post(author["platform_id"], text=SECRET_TEXT)
    assert client.post("/v1/posts", json=post).status_code == 201
    listed = client.get("/v1/audit/events", params={"type": "post.created"})
    as_csv = client.get("/v1/audit/events.csv")
    as_json = client.get("/v1/audit/export", params={"format": "json"})
    for resp in (listed, as_csv, as_json):
        assert resp.status_code == 200
        assert SECRET_TEXT not in resp.text
        assert "4711" not in resp.text
        assert '"enc"' not in resp.text
        assert "v1:" not in resp.text
    created = listed.json()["events"][0]
    assert created["payload"]["text"] == "[sealed]"
    assert created["payload"]["author"] == author["platform_id"]


def test_status_shows_the_latest_checkpoint_and_the_last_verification(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    before = client.get("/v1/audit/status").json()
    assert before["last_verification"] is None
    ae.actions(rt, "user:alice", 2)
    client.post("/v1/audit/checkpoint")
    ae.actions(rt, "user:alice", 1)
    signed = client.post("/v1/audit/checkpoint").json()
    clock.advance(minutes=5)
    verified = client.post("/v1/audit/verify")
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    status = client.get("/v1/audit/status").json()
    assert status["latest_checkpoint"]["seq"] == signed["seq"]
    assert status["latest_checkpoint"]["signed_at"] == signed["signed_at"]
    assert status["latest_checkpoint"]["chain_hash"] == signed["chain_hash"]
    last = status["last_verification"]
    assert last["ok"] is True
    assert last["problems"] == []
    assert last["verified_at"] == "2026-03-02T12:05:00.000000Z"
    assert last["checkpoints"] == 2
    assert status["head"]["seq"] >= signed["seq"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-40"}, "until"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "until"),
        ({"type": "act*ion"}, "type"),
        ({"limit": 1001}, "limit"),
        ({"limit": 0}, "limit"),
        ({"actor": "x" * 200}, "actor"),
        ({"cursor": 2**70}, "cursor"),
        ({"cursor": 0}, "cursor"),
    ],
)
def test_invalid_filters_answer_422_naming_the_field(
    client: TestClient, params: dict[str, object], field: str
) -> None:
    for path in ("/v1/audit/events", "/v1/audit/events.csv"):
        if path.endswith(".csv") and ("limit" in params or "cursor" in params):
            continue
        resp = client.get(path, params=params)
        assert resp.status_code == 422, resp.text
        body = resp.json()
        assert body["error"] == "invalid"
        assert body["detail"]["field"] == field
        assert field in body["message"]


AUDIT_ROUTES = [
    ("GET", "/v1/audit/events"),
    ("GET", "/v1/audit/events.csv"),
    ("GET", "/v1/audit/export?format=json"),
    ("GET", "/v1/audit/status"),
    ("GET", "/v1/audit/verify"),
    ("POST", "/v1/audit/verify"),
    ("POST", "/v1/audit/checkpoint"),
    ("POST", "/v1/audit/reconcile"),
    ("GET", "/v1/audit/insider"),
    ("POST", "/v1/audit/insider"),
    ("GET", "/audit"),
]


def test_a_role_without_audit_read_is_refused_everywhere(rt: Runtime) -> None:
    token = seed_user(rt, "mod", ["moderator"])
    cookie = ae.login_session(rt, "mod")
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"}) as c:
        for method, path in AUDIT_ROUTES:
            resp = c.request(method, path)
            assert resp.status_code == 403, f"{method} {path} -> {resp.status_code}"
            assert resp.json()["error"] == "forbidden"
    with TestClient(app, base_url="https://testserver", cookies={"ts_session": cookie}) as c:
        assert c.get("/audit").status_code == 403
        assert c.get("/v1/audit/events").status_code == 403


def test_an_auditor_may_use_every_audit_route(rt: Runtime) -> None:
    token = seed_user(rt, "aud", ["auditor"])
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"}) as c:
        for method, path in AUDIT_ROUTES:
            resp = c.request(method, path)
            assert resp.status_code == 200, f"{method} {path} -> {resp.status_code} {resp.text[:200]}"


def test_events_show_protected_and_insider_risk_flags(client: TestClient, rt: Runtime) -> None:
    for n in range(4):
        ae.actions(rt, f"user:peer{n}", 5)
    ae.actions(rt, "user:busy", 60, protected=True)
    assert client.post("/v1/audit/insider").status_code == 200
    busy = _events(client, actor="user:busy", limit=1)["events"][0]  # type: ignore[index]
    assert busy["flags"] == ["protected", "insider_risk"]
    peer = _events(client, actor="user:peer0", limit=1)["events"][0]  # type: ignore[index]
    assert peer["flags"] == []


def test_cli_audit_events_exports_csv_with_filters(cli: Callable[..., Result], rt: Runtime) -> None:
    ae.actions(rt, "user:alice", 2, subject=("account", "acct-3"))
    ae.actions(rt, "user:bob", 1, subject=("account", "acct-3"))
    result = cli("audit", "events", "--actor", "user:alice", "--subject", "account:acct-3", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["actor"] for r in rows] == ["user:alice", "user:alice"]
    table = cli("audit", "events", "--type", "action.*", "--limit", "2")
    assert table.exit_code == 0, table.output
    assert "user:bob" in table.output
    assert "showing the newest 2" in table.output
    bad = cli("audit", "events", "--since", "soon")
    assert bad.exit_code == 2
    assert "since" in bad.output
    assert "Traceback" not in bad.output
