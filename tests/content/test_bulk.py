"""The bulk loader: mixed kinds in file order, bad lines rejected with their line numbers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.content import BENIGN, SCAM
from tests.fixtures import factories as f
from townsquare.content.bulk import load
from townsquare.runtime import Runtime

Record = tuple[int, dict[str, Any] | None, str | None]


def _records(*rows: dict[str, Any] | str | None) -> list[Record]:
    """Number rows from line 1; a string stands for a line that did not parse."""
    out: list[Record] = []
    for line, row in enumerate(rows, start=1):
        out.append((line, None, row) if isinstance(row, str) else (line, row, None))
    return out


def test_load_mixed_kinds_in_order(rt: Runtime, client: TestClient) -> None:
    acct = f.account()
    aid = acct["platform_id"]
    first, scam = f.post(aid, BENIGN), f.post(aid, SCAM)
    reply = f.post(aid, "Indeed.", reply_to=first["platform_id"])
    seen: list[int] = []

    summary = load(
        rt,
        _records(
            {"kind": "account", **acct},
            {"kind": "post", **first},
            {"kind": "post", **scam},
            {
                "kind": "metrics",
                "post": first["platform_id"],
                "views": 10,
                "observed_at": "2026-03-02T11:05:00Z",
            },
            {"kind": "report", **f.report(first["platform_id"], "spam", reporter=aid)},
            {"kind": "post", **reply},
            {"kind": "account", **acct},
        ),
        progress=seen.append,
    )

    assert summary.errors == []
    assert dict(summary.created) == {"account": 1, "post": 3, "metrics": 1, "report": 1}
    assert dict(summary.duplicates) == {"account": 1}
    assert summary.outcomes["action"] == 1
    assert summary.actions["remove"] == 1
    assert sum(seen) == 7
    got = client.get(f"/v1/posts/{first['platform_id']}").json()
    assert (got["views"], got["report_count"]) == (10, 1)
    assert client.get(f"/v1/posts/{reply['platform_id']}").json()["reply_to"] == first["platform_id"]
    assert client.get(f"/v1/posts/{scam['platform_id']}").json()["status"] == "removed"


def test_bad_lines_are_rejected_with_line_numbers(rt: Runtime, client: TestClient) -> None:
    acct = f.account()
    aid = acct["platform_id"]
    good = f.post(aid)
    observed = "2026-03-02T11:05:00Z"

    summary = load(
        rt,
        _records(
            {"kind": "account", **acct},
            "invalid JSON: Expecting value",
            {"kind": "tweet", "text": "hello"},
            {"kind": "post", **f.post("nobody-here")},
            {"kind": "post", **good},
            {"kind": "post", **f.post(aid, "   ")},
            {"kind": "metrics", "post": good["platform_id"], "views": -5, "observed_at": observed},
            {"kind": "metrics", "post": good["platform_id"], "views": 25, "observed_at": observed},
            {"kind": "metrics", "post": "nothing-here", "views": 1, "observed_at": observed},
            {"kind": "report", **f.report(good["platform_id"], "rude")},
            {"kind": "account", **acct, "bio": "A different bio."},
        ),
    )

    assert dict(summary.created) == {"account": 1, "post": 1, "metrics": 1}
    assert dict(summary.rejected) == {"line": 2, "post": 2, "metrics": 2, "report": 1, "account": 1}
    where = [e.split(":")[0] for e in summary.errors]
    assert where == [f"line {n}" for n in (2, 3, 4, 6, 7, 9, 10, 11)]
    assert "invalid JSON" in summary.errors[0]
    assert "author" in summary.errors[2]
    assert "text" in summary.errors[3]
    assert "views" in summary.errors[4]
    assert "nothing-here" in summary.errors[5]
    assert "reason" in summary.errors[6]
    assert "platform_id" in summary.errors[7] or "different profile" in summary.errors[7]
    assert client.get(f"/v1/posts/{good['platform_id']}").json()["views"] == 25
