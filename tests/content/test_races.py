"""Races are answers, not errors: eight clients send the same id at once, against a real server.

Each burst starts eight threads, each with its own HTTP connection to uvicorn (whose thread pool runs
the requests in parallel, each in its own database transaction), released together by a barrier.
The first writer stores the record (201); every other client gets the first result (200) or, when its
body differs from what was stored, a 409 naming the field; never a 500. Runs on SQLite and PostgreSQL
(TOWNSQUARE_TEST_BACKEND).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from tests.browser.conftest import _free_port
from tests.content import SCAM
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.eventlog import chain
from townsquare.runtime import Runtime

CLIENTS = 8
ROUNDS = 3


@pytest.fixture
def live_server(rt: Runtime) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, in a thread; its base URL."""
    port = _free_port()
    app = create_app(runtime=rt, keep_chain=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "the test server stopped"
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def http(live_server: str, admin_token: str) -> Iterator[httpx.Client]:
    """A client of the live server (setup requests)."""
    with httpx.Client(base_url=live_server, headers=_auth(admin_token), timeout=60) as c:
        yield c


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def burst(base: str, token: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST each body from its own client and thread, all released at once; the responses in order."""
    barrier = threading.Barrier(len(bodies))
    out: list[httpx.Response | BaseException | None] = [None] * len(bodies)

    def send(i: int) -> None:
        with httpx.Client(base_url=base, headers=_auth(token), timeout=120) as c:
            c.get("/healthz")  # connect before the barrier, so the requests really overlap
            barrier.wait()
            try:
                out[i] = c.post(path, json=bodies[i])
            except BaseException as exc:  # reported below, not lost in the thread
                out[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    responses = [r for r in out if isinstance(r, httpx.Response)]
    assert len(responses) == len(bodies), out
    return responses


def _no_server_errors(responses: list[httpx.Response]) -> Counter[int]:
    statuses = Counter(r.status_code for r in responses)
    assert all(s < 500 for s in statuses), [r.text for r in responses if r.status_code >= 500]
    return statuses


def test_concurrent_identical_accounts_are_one_201_and_the_rest_200(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    for _ in range(ROUNDS):
        body = f.account()
        responses = burst(live_server, admin_token, "/v1/accounts", [body] * CLIENTS)
        assert _no_server_errors(responses) == {201: 1, 200: CLIENTS - 1}
        assert {r.json()["platform_id"] for r in responses} == {body["platform_id"]}
        assert http.get(f"/v1/accounts/{body['platform_id']}").status_code == 200


def test_concurrent_identical_posts_get_the_first_decision(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    for _ in range(ROUNDS):
        body = f.post(author["platform_id"], SCAM)
        responses = burst(live_server, admin_token, "/v1/posts", [body] * CLIENTS)
        assert _no_server_errors(responses) == {201: 1, 200: CLIENTS - 1}
        decisions = {r.json()["decision"]["verdict_id"] for r in responses}
        assert len(decisions) == 1, decisions
        stored = http.get(f"/v1/posts/{body['platform_id']}").json()
        assert len(stored["versions"]) == 1
        assert len(stored["actions"]) == 1  # removed once, one strike


def test_concurrent_conflicting_posts_are_409_never_500(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    for _ in range(ROUNDS):
        first = f.post(author["platform_id"])
        bodies = [first if i % 2 else {**first, "text": f"Another text, number {i}."} for i in range(CLIENTS)]
        responses = burst(live_server, admin_token, "/v1/posts", bodies)
        _no_server_errors(responses)
        stored = http.get(f"/v1/posts/{first['platform_id']}").json()["text"]
        for body, resp in zip(bodies, responses, strict=True):
            if body["text"] == stored:
                assert resp.status_code in (200, 201), resp.text
            else:
                assert resp.status_code == 409, resp.text
                assert resp.json()["detail"]["field"] == "platform_id"
        assert sum(r.status_code == 201 for r in responses) == 1


def test_concurrent_overlapping_batches_store_each_post_once(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    for _ in range(ROUNDS):
        posts = [f.post(author["platform_id"], f"Walk number {n} by the river.") for n in range(6)]
        # Client i sends a window of four posts: neighbours share three, so every id is raced.
        bodies = [{"posts": [posts[(i + k) % 6] for k in range(4)]} for i in range(CLIENTS)]
        responses = burst(live_server, admin_token, "/v1/posts/batch", bodies)
        assert _no_server_errors(responses) == {200: CLIENTS}
        created = Counter(
            item["platform_id"]
            for r in responses
            for item in r.json()["results"]
            if item["status"] == "created"
        )
        assert created == dict.fromkeys((p["platform_id"] for p in posts), 1)
        assert all(item["status"] != "rejected" for r in responses for item in r.json()["results"])


def test_concurrent_identical_reports_are_stored_once(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    target = f.post(author["platform_id"])
    assert http.post("/v1/posts", json=target).status_code == 201
    for _ in range(ROUNDS):
        body = f.report(target["platform_id"])
        other = {**body, "reason": "other"}
        bodies = [body] * (CLIENTS - 2) + [other] * 2
        responses = burst(live_server, admin_token, "/v1/reports", bodies)
        statuses = _no_server_errors(responses)
        assert statuses[201] == 1, statuses
        ids = {r.json()["report_id"] for r in responses if r.status_code in (200, 201)}
        assert len(ids) == 1
        assert set(statuses) <= {200, 201, 409}
    assert http.get(f"/v1/posts/{target['platform_id']}").json()["report_count"] == ROUNDS


def test_concurrent_appeals_and_actions_are_answers(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
) -> None:
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    scam = f.post(author["platform_id"], SCAM)
    assert http.post("/v1/posts", json=scam).status_code == 201
    puid = http.get(f"/v1/posts/{scam['platform_id']}").json()["actions"][0]["puid"]
    appeal = {"kind": "action", "action": puid, "account": author["platform_id"], "statement": "a joke"}
    responses = burst(live_server, admin_token, "/v1/appeals", [appeal] * CLIENTS)
    assert _no_server_errors(responses) == {201: 1, 409: CLIENTS - 1}
    benign = f.post(author["platform_id"])
    assert http.post("/v1/posts", json=benign).status_code == 201
    label = {"action": "label", "policy": "spam", "post": benign["platform_id"], "strike": False}
    responses = burst(live_server, admin_token, "/v1/actions", [label] * CLIENTS)
    assert set(_no_server_errors(responses)) <= {201, 409}


def test_concurrent_single_posts_each_keep_their_own_outcome(
    http: httpx.Client,
    live_server: str,
    admin_token: str,
    rt: Runtime,
) -> None:
    """Single posts that arrive together share transactions (group commit), never their outcomes: a
    rejected post is refused alone, a scam is removed with one strike, the rest are stored once."""
    author = f.account()
    assert http.post("/v1/accounts", json=author).status_code == 201
    for _ in range(ROUNDS):
        good = [f.post(author["platform_id"], f"Morning swim number {n} at the lake.") for n in range(5)]
        scam = f.post(author["platform_id"], SCAM)
        unknown = f.post("nobody-sent-this-account")
        too_long = f.post(author["platform_id"], "x" * (rt.settings.max_text_chars + 1))
        bodies = [*good[:3], unknown, scam, too_long, *good[3:]]
        responses = burst(live_server, admin_token, "/v1/posts", bodies)
        _no_server_errors(responses)
        for body, resp in zip(bodies, responses, strict=True):
            if body is unknown or body is too_long:
                assert resp.status_code == 422, resp.text
                field = "author" if body is unknown else "text"
                assert resp.json()["detail"]["field"] == field, resp.text
                assert http.get(f"/v1/posts/{body['platform_id']}").status_code == 404
                continue
            assert resp.status_code == 201, resp.text
            assert resp.json()["platform_id"] == body["platform_id"]
            stored = http.get(f"/v1/posts/{body['platform_id']}").json()
            assert stored["text"] == body["text"]
            assert len(stored["versions"]) == 1
            assert len(stored["actions"]) == (1 if body is scam else 0)
        verdicts = {r.json()["decision"]["verdict_id"] for r in responses if r.status_code == 201}
        assert len(verdicts) == len(bodies) - 2  # each post its own verdict
    assert chain.verify(rt).ok
