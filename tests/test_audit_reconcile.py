"""`audit reconcile`: projections edited behind the log's back are named; an intact database reports none."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import Result

from tests.fixtures import factories
from townsquare.content import bulk
from townsquare.eventlog import reconcile as audit_reconcile
from townsquare.runtime import Runtime

SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"


def _account(client: TestClient) -> str:
    data = factories.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _post(client: TestClient, author: str, text: str = "Lovely weather at the lake today.") -> str:
    data = factories.post(author, text)
    assert client.post("/v1/posts", json=data).status_code == 201
    return str(data["platform_id"])


def _act(client: TestClient, **body: Any) -> dict[str, Any]:
    r = client.post("/v1/actions", json={"policy": "spam", "reason": "seen it", **body})
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _reverse(client: TestClient, action_id: int) -> None:
    r = client.post(f"/v1/actions/{action_id}/reverse", json={"reason": "overturned"})
    assert r.status_code == 200, r.text


def _history(client: TestClient) -> dict[str, Any]:
    """A moderation history through the API: automated and human actions, reversals, deletion, erasure."""
    alice, bob, carol, dave, erin = (_account(client) for _ in range(5))
    scam = _post(client, alice, SCAM)  # removed automatically
    labelled = _post(client, alice)
    label = _act(client, action="label", post=labelled, strike=False)
    _reverse(client, label["id"])
    removed = _post(client, bob)
    remove = _act(client, action="remove", post=removed)
    _act(client, action="suspend", account=bob, duration_days=7)
    first = _act(client, action="suspend", account=dave, duration_days=30)
    _act(client, action="suspend", account=dave, duration_days=3)  # the newer, shorter one stands
    _reverse(client, first["id"])
    _act(client, action="ban", account=carol)
    kept_post = _post(client, erin)
    kept = {**_act(client, action="label", post=kept_post, strike=False), "post": kept_post}
    assert client.delete(f"/v1/posts/{_post(client, erin)}").status_code == 200
    assert client.post(f"/v1/accounts/{erin}/erase", json={"reason": "asked"}).status_code == 200
    return {"scam": scam, "label": label, "remove": remove, "carol": carol, "kept": kept, "bob": bob}


def _sql(rt: Runtime, statement: str, **params: Any) -> None:
    with rt.engine.begin() as conn:
        conn.execute(text(statement), params)


def _found(client: TestClient) -> dict[str, Any]:
    r = client.post("/v1/audit/reconcile")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_an_intact_database_reports_no_disagreement(client: TestClient, cli: Callable[..., Result]) -> None:
    _history(client)
    body = _found(client)
    assert (body["ok"], body["disagreements"], body["total"]) == (True, [], 0)
    assert body["checked"] == {"actions": 8, "strikes": 6, "posts": 5, "accounts": 5}
    result = cli("audit", "reconcile")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: every projection agrees with the event log (8 actions, 6 strikes")


def test_projection_edits_are_each_named(client: TestClient, rt: Runtime, cli: Callable[..., Result]) -> None:
    h = _history(client)
    _sql(rt, "UPDATE posts SET status = 'visible' WHERE platform_id = :p", p=h["scam"])
    _sql(rt, "UPDATE actions SET status = 'active' WHERE puid = :u", u=h["label"]["puid"])
    _sql(rt, "UPDATE accounts SET standing = 'good' WHERE platform_id = :a", a=h["carol"])
    _sql(rt, "UPDATE strikes SET removed_at = issued_at WHERE action_id = :i", i=h["remove"]["id"])
    found = {(d["kind"], d["subject"], d["log"], d["found"]) for d in _found(client)["disagreements"]}
    assert found == {
        ("post_status", f"post {h['scam']}", "removed", "visible"),
        ("action_status", f"action {h['label']['puid']}", "reversed", "active"),
        ("account_standing", f"account {h['carol']}", "banned", "good"),
        ("strike_removed", f"strike for action {h['remove']['puid']}", "in force", "removed"),
    }
    result = cli("audit", "reconcile")
    assert result.exit_code == 1
    assert f"DISAGREES post_status: post {h['scam']}: the table holds visible; the log says removed" in (
        result.output
    )
    assert "4 projection(s) disagree with the event log" in result.output


def test_rows_deleted_or_added_behind_the_log_are_named(client: TestClient, rt: Runtime) -> None:
    h = _history(client)
    kept = h["kept"]
    _sql(rt, "UPDATE cases SET action_id = NULL WHERE action_id = :i", i=kept["id"])
    _sql(rt, "DELETE FROM actions WHERE id = :i", i=kept["id"])  # and the post set back, as it was
    _sql(rt, "UPDATE posts SET status = 'visible' WHERE platform_id = :p", p=kept["post"])
    _sql(rt, "DELETE FROM strikes WHERE action_id = :i", i=h["remove"]["id"])
    _sql(
        rt,
        "INSERT INTO actions (puid, action_type, target_type, post_id, account_id, policy, policy_version,"
        " automated, source, actor, reason, status, created_at, statement, evidence)"
        " SELECT 'forged-puid', action_type, target_type, post_id, account_id, policy, policy_version,"
        " automated, source, actor, reason, status, created_at, statement, evidence"
        " FROM actions WHERE id = :i",
        i=h["remove"]["id"],
    )
    found = {(d["kind"], d["subject"]) for d in _found(client)["disagreements"]}
    assert found == {
        ("action_missing", f"action {kept['puid']}"),
        ("post_status", f"post {kept['post']}"),
        ("strike_missing", f"strike for action {h['remove']['puid']}"),
        ("action_unlogged", "action forged-puid"),
    }


def test_reconcile_while_writers_commit_never_reports_a_disagreement(rt: Runtime) -> None:
    def load(n: int) -> None:
        author = factories.account()
        records: list[tuple[int, dict[str, Any] | None, str | None]] = [
            (1, {"kind": "account", **author}, None)
        ]
        for i in range(n):  # every other post a scam: removed automatically, with its action and strike
            text_ = SCAM if i % 2 else f"Walk number {i} by the lake."
            records.append((i + 2, {"kind": "post", **factories.post(author["platform_id"], text_)}, None))
        for line, record, _ in records:  # one chunk each: many small transactions
            bulk.load(rt, [(line, record, None)])

    threads = [threading.Thread(target=load, args=(25,)) for _ in range(2)]
    for t in threads:
        t.start()
    results = []
    while any(t.is_alive() for t in threads):
        results.append(audit_reconcile.run(rt))
    for t in threads:
        t.join()
    results.append(audit_reconcile.run(rt))
    assert [r.disagreements for r in results if not r.ok] == []
    assert results[-1].checked["posts"] == 50
