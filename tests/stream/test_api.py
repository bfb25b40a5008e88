"""Stream mode over HTTP (202 + status URL, 503 + Retry-After), stream and ops endpoints, permissions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, seed_admin, seed_user
from tests.stream.conftest import free_port
from tests.stream.helpers import SCAM, records
from tests.stream.test_worker import drain
from townsquare.app import create_app
from townsquare.runtime import Runtime
from townsquare.stream.worker import Worker


@pytest.fixture
def sclient(srt: Runtime) -> Iterator[TestClient]:
    """An admin client of an app in stream mode."""
    srt.settings = srt.settings.model_copy(update={"ingest_mode": "stream"})
    seed_admin(srt)
    with TestClient(
        create_app(runtime=srt, keep_chain=False), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as c:
        yield c


def _account(c: TestClient, pid: str) -> None:
    [(_, body)] = [r for r in records(1, 0, pid)]
    assert c.post("/v1/accounts", json=body).status_code == 201


def test_posts_are_queued_with_202_and_their_status_url_shows_the_decision(
    sclient: TestClient, srt: Runtime
) -> None:
    _account(sclient, "h")
    sent = sclient.post(
        "/v1/posts",
        json={"platform_id": "h-1", "author": "h-acct-0", "text": SCAM, "created_at": "2026-03-02T11:00:00Z"},
    )
    assert sent.status_code == 202
    url = sent.json()["status_url"]
    assert sent.headers["location"] == url
    assert sclient.get(url).json()["status"] == "queued"
    drain(Worker(srt, name="w1"))
    done = sclient.get(url).json()
    assert done["status"] == "processed"
    assert done["result"]["decision"]["action"] == "remove"
    assert sclient.get("/v1/posts/h-1").json()["platform_id"] == "h-1"


def test_edits_deletions_reports_metrics_and_batches_are_queued(sclient: TestClient, srt: Runtime) -> None:
    _account(sclient, "q")
    good = {"platform_id": "q-1", "author": "q-acct-0", "text": "hello", "created_at": "2026-03-02T11:00:00Z"}
    batch = sclient.post("/v1/posts/batch", json={"posts": [good, {"platform_id": "q-2"}]})
    assert batch.status_code == 202
    assert [r["status"] for r in batch.json()["results"]] == ["queued", "rejected"]
    assert batch.json()["results"][1]["error"]["detail"][0]["field"] in {"author", "text", "created_at"}
    assert sclient.patch("/v1/posts/q-1", json={"text": "hello again"}).status_code == 202
    metrics = {"items": [{"post": "q-1", "views": 40, "observed_at": "2026-03-02T11:02:00Z"}]}
    assert sclient.post("/v1/posts/metrics", json=metrics).status_code == 202
    report = {"subject_type": "post", "subject": "q-1", "reason": "spam", "platform_id": "qr-1"}
    assert sclient.post("/v1/reports", json=report).status_code == 202
    assert sclient.request("DELETE", "/v1/posts/q-1", json={"reason": "gone"}).status_code == 202
    drain(Worker(srt, name="w1"))
    post = sclient.get("/v1/posts/q-1").json()
    assert post["status"] == "deleted"
    assert len(post["versions"]) == 2


def test_over_the_backlog_bound_producers_get_503_with_retry_after(sclient: TestClient, srt: Runtime) -> None:
    srt.settings = srt.settings.model_copy(update={"stream_max_backlog": 1})
    _account(sclient, "b")
    body = {"platform_id": "b-1", "author": "b-acct-0", "text": "one", "created_at": "2026-03-02T11:00:00Z"}
    assert sclient.post("/v1/posts", json=body).status_code == 202
    from townsquare.stream import service

    service.producer(srt.settings).unprocessed(fresh=True)
    refused = sclient.post("/v1/posts", json={**body, "platform_id": "b-2"})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(srt.settings.stream_retry_after_s)
    assert refused.json()["detail"]["bound"] == 1


def test_with_redis_down_producers_get_503_and_readyz_says_so(sclient: TestClient, srt: Runtime) -> None:
    srt.settings = srt.settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    _account(sclient, "d")
    body = {"platform_id": "d-1", "author": "d-acct-0", "text": "one", "created_at": "2026-03-02T11:00:00Z"}
    refused = sclient.post("/v1/posts", json=body)
    assert refused.status_code == 503
    assert "retry-after" in refused.headers
    assert sclient.get("/v1/stream/dead").status_code == 503
    assert sclient.get("/v1/stream/messages/0/1-0").status_code == 503
    ready = sclient.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["redis"].startswith("unavailable")


def test_readyz_is_public_and_checks_the_database(anon: TestClient) -> None:
    ready = anon.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok"}


def test_dead_letters_are_listed_and_retried_once_by_an_operator(sclient: TestClient, srt: Runtime) -> None:
    body = {"platform_id": "z-1", "author": "z-nobody", "text": "x", "created_at": "2026-03-02T11:00:00Z"}
    assert sclient.post("/v1/posts", json=body).status_code == 202
    drain(Worker(srt, name="w1"))
    operator = seed_user(srt, "op", ["operator"])
    moderator = seed_user(srt, "mod", ["moderator"])
    listing = sclient.get("/v1/stream/dead", headers={"Authorization": f"Bearer {operator}"})
    assert listing.status_code == 200
    [item] = listing.json()["items"]
    assert "unknown author" in item["error"]
    url = f"/v1/stream/dead/{item['id']}/retry"
    assert sclient.post(url, headers={"Authorization": f"Bearer {moderator}"}).status_code == 403
    assert sclient.post(url, headers={"Authorization": f"Bearer {operator}"}).status_code == 200
    again = sclient.post(url, headers={"Authorization": f"Bearer {operator}"})
    assert again.status_code == 404
    bad = sclient.post("/v1/stream/dead/not-an-id/retry", headers={"Authorization": f"Bearer {operator}"})
    assert bad.status_code == 422
    assert bad.json()["detail"]["field"] == "id"


def test_status_and_metrics_need_their_permissions(
    sclient: TestClient, srt: Runtime, anon: TestClient
) -> None:
    operator = seed_user(srt, "op", ["operator"])
    platform = seed_user(srt, "plat", ["platform"])
    status = sclient.get("/v1/stream/status", headers={"Authorization": f"Bearer {operator}"})
    assert status.status_code == 200
    assert status.json()["redis"] == "ok"
    assert len(status.json()["per_shard"]) == srt.settings.stream_shards
    assert (
        sclient.get("/v1/stream/status", headers={"Authorization": f"Bearer {platform}"}).status_code == 403
    )
    scraped = sclient.get("/metrics", headers={"Authorization": f"Bearer {operator}"})
    assert scraped.status_code == 200
    assert "townsquare_stream_backlog" in scraped.text
    assert "townsquare_stream_latency_seconds" in scraped.text
    assert sclient.get("/metrics", headers={"Authorization": f"Bearer {platform}"}).status_code == 403
    assert anon.get("/metrics").status_code == 401


def test_stream_endpoints_without_redis_answer_409_not_500(client: TestClient) -> None:
    assert client.get("/v1/stream/status").json()["configured"] is False
    refused = client.get("/v1/stream/dead")
    assert refused.status_code == 409
    assert refused.json()["detail"]["field"] == "redis_url"
