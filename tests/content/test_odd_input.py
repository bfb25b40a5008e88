"""Odd input is a 4xx naming the field, and stays local (issue 11): timestamps that leave the years
1 to 9999 once normalised to UTC, lone surrogates, huge numbers, deep nesting, LIKE wildcards, and
year-1 dates written as ISO 8601.

The `client` fixture re-raises any exception the app lets escape, so a would-be 500 fails loudly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.content import BENIGN, assert_error
from tests.fixtures import factories as f
from townsquare.eventlog.events import iso

JSON = {"content-type": "application/json"}
# Both are valid ISO 8601 times in range; in UTC the first is in year 0 and the second in year 10000.
OVERFLOWS = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]


@pytest.fixture
def author(client: TestClient) -> str:
    """An account that posts."""
    data = f.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


@pytest.fixture
def stored(client: TestClient, author: str) -> str:
    """A stored post's platform id."""
    data = f.post(author)
    assert client.post("/v1/posts", json=data).status_code == 201
    return str(data["platform_id"])


@pytest.mark.parametrize("ts", OVERFLOWS)
def test_a_timestamp_that_overflows_in_utc_is_422_on_every_body_field(
    client: TestClient, author: str, stored: str, ts: str
) -> None:
    assert_error(client.post("/v1/posts", json=f.post(author, created_at=ts)), 422, "created_at")
    assert_error(client.post("/v1/accounts", json=f.account(created_at=ts)), 422, "created_at")
    edit = {"text": "An edited text.", "edited_at": ts}
    assert_error(client.patch(f"/v1/posts/{stored}", json=edit), 422, "edited_at")
    assert_error(client.request("DELETE", f"/v1/posts/{stored}", json={"deleted_at": ts}), 422, "deleted_at")
    snapshot = {"items": [{"post": stored, "views": 3, "observed_at": ts}]}
    assert_error(client.post("/v1/posts/metrics", json=snapshot), 422, "observed_at")
    assert_error(client.post("/v1/reports", json=f.report(stored, created_at=ts)), 422, "created_at")
    call = {"winner": "Party A", "source_url": "https://results.example.org/", "called_at": ts}
    assert_error(client.post("/v1/elections/us-general-2026/races/senate/call", json=call), 422, "called_at")
    post = client.get(f"/v1/posts/{stored}").json()
    assert (post["status"], post["version"]) == ("visible", 1)


@pytest.mark.parametrize("ts", OVERFLOWS)
@pytest.mark.parametrize("field", ["since", "until"])
def test_a_timestamp_that_overflows_in_utc_is_422_in_every_query_filter(
    client: TestClient, ts: str, field: str
) -> None:
    for path in ("/v1/audit/events", "/v1/audit/events.csv", "/v1/audit/export"):
        assert_error(client.get(path, params={field: ts}), 422, field)
    assert_error(client.get("/v1/brand-safety/reports/acme", params={field: ts}), 422, field)
    page = client.get("/audit", params={field: ts})
    assert page.status_code == 422
    assert "out of range" in page.text


def test_a_batch_item_with_an_overflowing_timestamp_is_that_items_error(
    client: TestClient, author: str
) -> None:
    good = [f.post(author), f.post(author)]
    bad = f.post(author, created_at=OVERFLOWS[0])

    resp = client.post("/v1/posts/batch", json={"posts": [good[0], bad, good[1]]})

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["created"], body["rejected"]) == (2, 1)
    assert body["results"][1]["status"] == "rejected"
    assert body["results"][1]["error"]["detail"][0]["field"] == "created_at"
    for item in good:
        assert client.get(f"/v1/posts/{item['platform_id']}").status_code == 200
    assert_error(client.get(f"/v1/posts/{bad['platform_id']}"), 404, "post")


def test_year_one_is_written_as_iso_8601(client: TestClient, author: str) -> None:
    data = f.post(author, created_at="0001-01-01T00:00:00Z")

    assert client.post("/v1/posts", json=data).status_code == 201

    assert (
        client.get(f"/v1/posts/{data['platform_id']}").json()["created_at"].startswith("0001-01-01T00:00:00")
    )
    events = client.get("/v1/audit/events", params={"subject_id": data["platform_id"]}).json()["events"]
    created = next(e for e in events if e["type"] == "post.created")
    assert created["payload"]["created_at"] == "0001-01-01T00:00:00.000000Z"


def test_iso_pads_every_year_to_four_digits() -> None:
    from datetime import UTC, datetime

    assert iso(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000000Z"
    assert iso(datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC)) == "0999-12-31T23:59:59.000005Z"
    assert iso(datetime(2026, 3, 2, 12, tzinfo=UTC)) == "2026-03-02T12:00:00.000000Z"


def _raw(client: TestClient, method: str, path: str, body: str) -> Any:
    # Written by hand: a JSON encoder would refuse to produce a lone surrogate escape.
    return client.request(method, path, content=body.encode(), headers=JSON)


def test_a_lone_surrogate_in_an_action_is_422_naming_the_field(client: TestClient) -> None:
    label = '{"action": "label", "policy": "spam", "post": "p-\\ud800"}'
    ban = '{"action": "ban", "policy": "spam", "account": "a-\\udfff", "reason": "spam"}'

    assert_error(_raw(client, "POST", "/v1/actions", label), 422, "post")
    assert_error(_raw(client, "POST", "/v1/actions", ban), 422, "account")


def test_a_lone_surrogate_in_a_batch_item_is_that_items_error(client: TestClient, author: str) -> None:
    good = f.post(author)
    item = (
        '{"platform_id": "p-\\ud800", "author": "' + author + '", "text": "hi", "created_at": "2026-03-02"}'
    )
    body = '{"posts": [' + item + ", " + json.dumps(good) + "]}"

    resp = _raw(client, "POST", "/v1/posts/batch", body)

    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["status"] for r in results] == ["rejected", "created"]
    assert results[0]["error"]["detail"][0]["field"] == "platform_id"
    assert client.get(f"/v1/posts/{good['platform_id']}").status_code == 200


def test_a_surrogate_pair_is_a_character_not_an_error(client: TestClient, author: str) -> None:
    data = f.post(author, text="placeholder")
    body = json.dumps(data).replace("placeholder", "smile \\ud83d\\ude00")

    resp = _raw(client, "POST", "/v1/posts", body)

    assert resp.status_code == 201, resp.text
    assert client.get(f"/v1/posts/{data['platform_id']}").json()["text"] == "smile \U0001f600"


@pytest.mark.parametrize("number", ["99999999999999999999", str(2**63)])
def test_a_huge_token_id_is_422_not_500(client: TestClient, number: str) -> None:
    assert_error(client.delete(f"/v1/auth/tokens/{number}"), 422, "token_id")


@pytest.mark.parametrize("depth", [40, 5_000])
def test_deeply_nested_json_is_422_naming_the_body(client: TestClient, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    body = '{"platform_id": "p-deep", "author": "a", "text": ' + nested + "}"

    err = assert_error(_raw(client, "POST", "/v1/posts", body), 422, "body")

    assert "deeper" in err["detail"][0]["message"]
    assert_error(_raw(client, "POST", "/v1/posts/batch", '{"posts": ' + nested + "}"), 422, "body")


def test_brackets_inside_strings_do_not_count_as_nesting(client: TestClient, author: str) -> None:
    text = "[" * 100 + " not nested " + "{" * 100

    assert client.post("/v1/posts", json=f.post(author, text)).status_code == 201


def test_like_wildcards_in_search_match_themselves(client: TestClient, author: str) -> None:
    plain = f.post(author, BENIGN)
    percent = f.post(author, "Prices up 100%% today, said the grocer.")
    for data in (plain, percent):
        assert client.post("/v1/posts", json=data).status_code == 201

    for q, expected in (("%%", {percent["platform_id"]}), ("__", set()), ("0%%", {percent["platform_id"]})):
        html = client.get("/review/search", params={"q": q}).text
        found = {pid for pid in (plain["platform_id"], percent["platform_id"]) if pid in html}
        assert found == expected, (q, found)


def test_like_wildcards_in_the_bulk_filter_match_themselves(client: TestClient, author: str) -> None:
    # Threats open cases; one of them holds a literal "%%_".
    texts = ["I will kill you, just wait", "I will kill you at 100%%_ certainty, just wait"]
    for text in texts:
        assert client.post("/v1/posts", json=f.post(author, text)).status_code == 201

    def count(contains: str) -> int:
        resp = client.post("/v1/cases/bulk/preview", json={"contains": contains})
        assert resp.status_code == 200, resp.text
        return int(resp.json()["count"])

    assert count("kill you") == 2
    assert count("%%%") == 0
    assert count("%%_") == 1
    assert count("___") == 0
