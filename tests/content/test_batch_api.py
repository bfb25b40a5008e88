"""Batches over HTTP: size limits, per-item results, duplicates, and all-or-nothing on a crash."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from tests.conftest import TOKEN
from tests.content import BENIGN, SCAM, assert_error
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.content.models import Post
from townsquare.pipeline import decide
from townsquare.runtime import Runtime

BATCH_TABLES = ("posts", "post_versions", "signals", "verdicts", "actions", "strikes", "events")


@pytest.fixture
def author(client: TestClient) -> str:
    """An account that posts."""
    data = f.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _counts(rt: Runtime) -> dict[str, int]:
    with rt.engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in BATCH_TABLES}


def _batch(client: TestClient, posts: list[Any]) -> dict[str, Any]:
    resp = client.post("/v1/posts/batch", json={"posts": posts})
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def test_batch_of_1000_is_accepted(client: TestClient, rt: Runtime, author: str) -> None:
    posts = [f.post(author, f"Morning walk number {i} by the river.") for i in range(999)]
    posts.append(f.post(author, SCAM))

    body = _batch(client, posts)

    assert (body["created"], body["duplicates"], body["rejected"]) == (1000, 0, 0)
    assert [r["index"] for r in body["results"]] == list(range(1000))
    assert all(r["decision"]["verdict_id"] for r in body["results"])
    assert body["results"][-1]["decision"]["action"] == "remove"
    assert client.get(f"/v1/posts/{posts[-1]['platform_id']}").json()["status"] == "removed"
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 1000


def test_batch_of_1001_is_422_naming_posts(client: TestClient, rt: Runtime, author: str) -> None:
    posts = [f.post(author) for _ in range(1001)]

    assert_error(client.post("/v1/posts/batch", json={"posts": posts}), 422, "posts")
    assert _counts(rt)["posts"] == 0


def test_empty_batch_is_422(client: TestClient) -> None:
    assert_error(client.post("/v1/posts/batch", json={"posts": []}), 422, "posts")


def test_mixed_batch_gives_per_item_results(client: TestClient, rt: Runtime, author: str) -> None:
    good = [f.post(author), f.post(author, SCAM)]
    no_text = f.post(author)
    del no_text["text"]
    posts: list[Any] = [
        good[0],
        no_text,
        f.post(author, ""),
        f.post("nobody-here"),
        f.post(author, "x" * (rt.settings.max_text_chars + 1)),
        "not an object",
        f.post(author, platform_id=12345),
        good[1],
    ]
    before = _counts(rt)

    body = _batch(client, posts)

    assert (body["created"], body["duplicates"], body["rejected"]) == (2, 0, 6)
    statuses = [r["status"] for r in body["results"]]
    assert statuses == ["created"] + ["rejected"] * 6 + ["created"]
    named = [[d["field"] for d in r["error"]["detail"]] for r in body["results"][1:7]]
    assert named == [["text"], ["text"], ["author"], ["text"], ["item"], ["platform_id"]]
    assert body["results"][6]["platform_id"] is None
    assert body["results"][3]["platform_id"] == posts[3]["platform_id"]
    for item in posts[1:5]:
        assert_error(client.get(f"/v1/posts/{item['platform_id']}"), 404, "post")
    assert client.get(f"/v1/posts/{good[0]['platform_id']}").json()["status"] == "visible"
    assert client.get(f"/v1/posts/{good[1]['platform_id']}").json()["status"] == "removed"
    after = _counts(rt)
    assert after["posts"] - before["posts"] == 2
    assert after["post_versions"] - before["post_versions"] == 2


def test_lone_surrogate_rejects_only_its_item(client: TestClient, author: str) -> None:
    good = json.dumps(f.post(author))
    bad = json.dumps(f.post(author, "broken @@ text")).replace("@@", "\\ud800")
    body = f'{{"posts": [{good}, {bad}]}}'.encode()

    resp = client.post("/v1/posts/batch", content=body, headers={"content-type": "application/json"})

    assert resp.status_code == 200
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected"]
    assert results[1]["error"]["detail"][0]["field"] == "text"


def test_duplicate_id_inside_one_batch(client: TestClient, author: str) -> None:
    item = f.post(author, SCAM)

    body = _batch(client, [item, dict(item)])

    assert [r["status"] for r in body["results"]] == ["created", "duplicate"]
    assert (body["created"], body["duplicates"]) == (1, 1)
    first, second = body["results"]
    assert second["decision"] == first["decision"]
    got = client.get(f"/v1/posts/{item['platform_id']}").json()
    assert (len(got["versions"]), len(got["verdicts"]), len(got["actions"])) == (1, 1, 1)


def test_same_id_with_different_text_inside_one_batch_is_rejected(client: TestClient, author: str) -> None:
    item = f.post(author, BENIGN)

    body = _batch(client, [item, {**item, "text": SCAM}])

    assert [r["status"] for r in body["results"]] == ["created", "rejected"]
    assert body["results"][1]["error"]["detail"][0]["field"] == "platform_id"
    got = client.get(f"/v1/posts/{item['platform_id']}").json()
    assert (got["text"], got["status"]) == (BENIGN, "visible")


def test_resent_batch_returns_duplicates_with_first_decisions(client: TestClient, author: str) -> None:
    posts = [f.post(author, BENIGN), f.post(author, SCAM)]
    first = _batch(client, posts)

    again = _batch(client, posts)

    assert (again["created"], again["duplicates"]) == (0, 2)
    assert [r["decision"] for r in again["results"]] == [r["decision"] for r in first["results"]]


def test_reply_to_a_post_earlier_in_the_batch_is_linked(client: TestClient, rt: Runtime, author: str) -> None:
    parent = f.post(author)
    reply = f.post(author, "Agreed!", reply_to=parent["platform_id"])

    _batch(client, [parent, reply])

    assert client.get(f"/v1/posts/{reply['platform_id']}").json()["reply_to"] == parent["platform_id"]
    with rt.sessions() as session:
        ids = dict(session.execute(select(Post.platform_id, Post.id)).tuples().all())
        linked = session.scalar(select(Post.reply_to_id).where(Post.platform_id == reply["platform_id"]))
    assert linked == ids[parent["platform_id"]]


@pytest.fixture
def crashing(rt: Runtime, admin_token: str) -> Iterator[TestClient]:
    """A client that turns server errors into responses (as a real server does) instead of raising."""
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}, raise_server_exceptions=False) as c:
        yield c


def test_crash_mid_batch_stores_nothing(
    crashing: TestClient, rt: Runtime, author: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real_plan = decide.plan

    def plan_then_crash(runtime: Runtime, text: str, *args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("scorer fell over")
        return real_plan(runtime, text, *args)

    monkeypatch.setattr(decide, "plan", plan_then_crash)
    posts = [f.post(author, SCAM if i % 2 else BENIGN) for i in range(10)]
    before = _counts(rt)

    resp = crashing.post("/v1/posts/batch", json={"posts": posts})

    body = assert_error(resp, 500)
    assert body["error"] == "internal"
    assert "RuntimeError" not in resp.text
    assert "scorer fell over" not in resp.text
    assert calls["n"] == 5
    assert _counts(rt) == before
    assert before["posts"] == 0
