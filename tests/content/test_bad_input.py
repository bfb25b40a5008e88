"""Bad input over HTTP: malformed JSON, unknown enums, size limits, empty texts and Unicode edge cases."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, Clock, seed_admin
from tests.content import BENIGN, assert_error
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.runtime import build_runtime

JSON = {"content-type": "application/json"}
TEXT_LIMIT = 50
BODY_LIMIT = 2_000


@pytest.fixture
def small(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """A client on an app with small text and body limits."""
    tight = settings.model_copy(update={"max_text_chars": TEXT_LIMIT, "max_body_bytes": BODY_LIMIT})
    runtime = build_runtime(tight, clock=clock)
    seed_admin(runtime)
    app = create_app(runtime=runtime, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c
    runtime.dispose()


def _author(client: TestClient) -> str:
    data = f.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


@pytest.fixture
def author(client: TestClient) -> str:
    """An account that posts."""
    return _author(client)


def test_malformed_json_is_422_json(client: TestClient, author: str) -> None:
    body = b'{"platform_id": "p-1", "author": "%s", "text": "hi",' % author.encode()

    resp = client.post("/v1/posts", content=body, headers=JSON)

    err = assert_error(resp, 422, "body")
    assert "JSON" in err["detail"][0]["message"]


def test_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    assert_error(client.post("/v1/posts", content=b"[1, 2, 3]", headers=JSON), 422, "body")


def test_unknown_enum_value_is_422(client: TestClient, author: str) -> None:
    data = f.report(author, subject_type="tweet")

    assert_error(client.post("/v1/reports", json=data), 422, "subject_type")


def test_text_at_the_limit_is_accepted_and_over_it_is_422(small: TestClient) -> None:
    author = _author(small)
    at_limit = f.post(author, "a" * TEXT_LIMIT)
    over = f.post(author, "a" * (TEXT_LIMIT + 1))

    assert small.post("/v1/posts", json=at_limit).status_code == 201
    assert_error(small.post("/v1/posts", json=over), 422, "text")
    assert_error(small.get(f"/v1/posts/{over['platform_id']}"), 404, "post")


def test_edit_and_report_texts_over_the_limit_are_422(small: TestClient) -> None:
    author = _author(small)
    data = f.post(author)
    small.post("/v1/posts", json=data)
    long_text = "b" * (TEXT_LIMIT + 1)

    assert_error(small.patch(f"/v1/posts/{data['platform_id']}", json={"text": long_text}), 422, "text")
    assert_error(small.post("/v1/reports", json=f.report(data["platform_id"], text=long_text)), 422, "text")
    assert small.get(f"/v1/posts/{data['platform_id']}").json()["version"] == 1


def test_default_text_limit_is_enforced(client: TestClient, author: str, settings: Settings) -> None:
    data = f.post(author, "c" * (settings.max_text_chars + 1))

    assert_error(client.post("/v1/posts", json=data), 422, "text")


@pytest.mark.parametrize(
    "text", ["", " ", "  \n\t  ", "\u3000"], ids=["empty", "space", "mixed", "ideographic"]
)
def test_empty_or_whitespace_text_is_422(client: TestClient, author: str, text: str) -> None:
    assert_error(client.post("/v1/posts", json=f.post(author, text)), 422, "text")


def test_whitespace_edit_is_422(client: TestClient, author: str) -> None:
    data = f.post(author)
    client.post("/v1/posts", json=data)

    assert_error(client.patch(f"/v1/posts/{data['platform_id']}", json={"text": "   "}), 422, "text")


def test_lone_surrogate_is_422(client: TestClient, author: str) -> None:
    # Written by hand: a JSON encoder would refuse to produce a lone surrogate escape.
    body = (
        f'{{"platform_id": "p-surrogate", "author": "{author}", "text": "broken \\ud800 text",'
        ' "created_at": "2026-03-02T11:00:00Z"}'
    )

    resp = client.post("/v1/posts", content=body.encode(), headers=JSON)

    assert_error(resp, 422, "text")
    assert_error(client.get("/v1/posts/p-surrogate"), 404, "post")


def test_nul_character_is_422(client: TestClient, author: str) -> None:
    # PostgreSQL text cannot hold U+0000; refusing it up front keeps both backends alike.
    assert_error(client.post("/v1/posts", json=f.post(author, "nul \x00 inside")), 422, "text")
    assert_error(client.post("/v1/accounts", json=f.account(bio="bad \x00 bio")), 422, "bio")


def test_rtl_marks_zero_width_joiners_and_emoji_are_stored_exactly(client: TestClient, author: str) -> None:
    text = (
        "Shalom \u200fשלום עולם\u200f and \u202bمرحبا\u202c; family "
        "\U0001f469\u200d\U0001f469\u200d\U0001f467, flag \U0001f1ea\U0001f1fa, "
        "cafe\u0301, \u200czwnj\u200c, thumbs \U0001f44d\U0001f3fd"
    )
    data = f.post(author, text)

    resp = client.post("/v1/posts", json=data)

    assert resp.status_code == 201
    got = client.get(f"/v1/posts/{data['platform_id']}").json()
    assert got["text"] == text
    assert got["versions"][0]["text"] == text


def test_unicode_profile_is_stored_exactly(client: TestClient) -> None:
    data = f.account(display_name="\u200fנועה\u200f \U0001f469\u200d\U0001f4bb", bio="\u2067متن\u2069 \u00e9")

    assert client.post("/v1/accounts", json=data).status_code == 201

    got = client.get(f"/v1/accounts/{data['platform_id']}").json()
    assert (got["display_name"], got["bio"]) == (data["display_name"], data["bio"])


def test_body_over_the_limit_with_content_length_is_413(small: TestClient) -> None:
    body = b'{"padding": "' + b"x" * BODY_LIMIT + b'"}'

    resp = small.post("/v1/posts", content=body, headers=JSON)

    err = assert_error(resp, 413)
    assert err["error"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_413(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"padding": "'
        for _ in range(10):
            yield b"x" * (BODY_LIMIT // 4)
        yield b'"}'

    # A generator body is sent with Transfer-Encoding: chunked and no Content-Length.
    resp = small.post("/v1/posts", content=chunks(), headers=JSON)

    err = assert_error(resp, 413)
    assert err["error"] == "payload_too_large"


def test_unknown_extra_field_is_422(client: TestClient, author: str) -> None:
    data = f.post(author, BENIGN, likes=5)

    assert_error(client.post("/v1/posts", json=data), 422, "likes")
    assert_error(client.post("/v1/accounts", json=f.account(karma=1)), 422, "karma")


def test_platform_id_with_spaces_is_422(client: TestClient, author: str) -> None:
    assert_error(client.post("/v1/posts", json=f.post(author, platform_id="post one")), 422, "platform_id")
    assert_error(client.post("/v1/accounts", json=f.account(platform_id="acct one")), 422, "platform_id")


def test_bad_timestamp_is_422(client: TestClient, author: str) -> None:
    assert_error(client.post("/v1/posts", json=f.post(author, created_at="yesterday")), 422, "created_at")


def test_missing_token_is_401(anon: TestClient) -> None:
    assert_error(anon.post("/v1/posts", json=f.post("acct-x")), 401)
    assert_error(anon.get("/v1/posts/anything"), 401)
