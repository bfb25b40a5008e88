"""Hardening: security headers on every response, templates fit for the CSP, and no secrets in logs."""

from __future__ import annotations

import logging
import logging.config
import re
import sys
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, seed_user
from townsquare.access.hardening import CONTENT_SECURITY_POLICY
from townsquare.app import create_app
from townsquare.logging_setup import REDACTED, RedactFilter, redact, redact_record, uvicorn_log_config
from townsquare.runtime import Runtime
from townsquare.web.render import WEB

EXPECTED = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secure(response: object, *, no_store: bool) -> None:
    """Every security header is present with its value; `no-store` where the response is private."""
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, f"{name} on {response}: {headers.get(name)!r}"
    policy = headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy
    if no_store:
        assert headers.get("cache-control") == "no-store"
    assert "strict-transport-security" not in headers  # plain HTTP


@pytest.fixture
def app(rt: Runtime, admin_token: str) -> FastAPI:
    """The app, plus two routes that misbehave on purpose (a crash, a weak header of its own)."""
    application = create_app(runtime=rt, keep_chain=False)

    @application.get("/test-crash", include_in_schema=False)
    def crash(request: Request) -> None:
        logging.getLogger("townsquare.test").error(
            "crashing; headers=%s query=%s", dict(request.headers), request.url.query
        )
        raise RuntimeError(f"boom while holding {request.headers.get('authorization')}")

    @application.get("/test-weak", include_in_schema=False)
    def weak() -> PlainTextResponse:
        return PlainTextResponse("x", headers={"content-security-policy": "default-src *"})

    return application


@pytest.fixture
def http(app: FastAPI) -> Iterator[TestClient]:
    """A client authenticated as admin that sees server errors as 500 responses, as a browser does."""
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}, raise_server_exceptions=False) as c:
        yield c


def test_headers_on_the_landing_page(http: TestClient) -> None:
    response = http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text
    assert_secure(response, no_store=True)


def test_headers_on_an_api_response(http: TestClient) -> None:
    response = http.get("/v1/policies")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_secure(response, no_store=True)


def test_headers_on_health_and_openapi(http: TestClient) -> None:
    for path in ("/healthz", "/openapi.json"):
        response = http.get(path)
        assert response.status_code == 200
        assert_secure(response, no_store=False)


def test_headers_on_a_404(http: TestClient) -> None:
    for path in ("/no-such-page", "/v1/no-such-route"):
        response = http.get(path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"
        assert_secure(response, no_store=path.startswith("/v1"))


def test_headers_on_a_401(anon: TestClient) -> None:
    response = anon.get("/v1/policies")
    assert response.status_code == 401
    assert_secure(response, no_store=True)


def test_headers_on_a_422(http: TestClient) -> None:
    response = http.post("/v1/posts", json={"unexpected": True})
    assert response.status_code == 422
    assert_secure(response, no_store=True)


def test_a_body_that_is_not_utf8_is_malformed_json(http: TestClient) -> None:
    response = http.post("/v1/posts", content=b"\xff\x03W", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "body", "message": "the body is not valid UTF-8 JSON"}]
    assert_secure(response, no_store=True)


@pytest.mark.parametrize(
    "url", ["/v1/posts/a%00b", "/v1/accounts/a%0Ab", "/v1/posts/x?text=a%00b", "/no-such%00page"]
)
def test_control_characters_in_the_path_or_a_nul_in_the_query_are_refused(http: TestClient, url: str) -> None:
    response = http.get(url)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid"
    assert_secure(response, no_store=url.startswith("/v1"))


@pytest.mark.parametrize(
    ("content", "content_type", "field"),
    [
        (b'{"account": "a\\u0000b", "statement": "please"}', "application/json", "account"),
        (b'{"account": "ok", "statement": "a \\\\\\u0000 b"}', "application/json", "statement"),
        (b'{"account": "ok", "extra": [{"k\\u0000": 1}]}', "application/json", "extra.0.k"),
        (b"username=a%00b&password=x", "application/x-www-form-urlencoded", "username"),
    ],
)
def test_a_nul_anywhere_in_a_body_is_refused_naming_the_field(
    http: TestClient, content: bytes, content_type: str, field: str
) -> None:
    response = http.post("/v1/reinstatements", content=content, headers={"content-type": content_type})
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": field, "message": "contains a NUL character (U+0000)"}]
    assert response.json()["message"] == f"invalid input: {field}"
    assert_secure(response, no_store=True)


def test_a_raw_nul_byte_is_malformed_json(http: TestClient) -> None:
    response = http.post(
        "/v1/reinstatements", content=b'{"account": "a\x00b"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body"


def test_an_escaped_backslash_before_u0000_is_ordinary_text(http: TestClient) -> None:
    body = b'{"account": "no-such-account", "statement": "see C:\\\\u0000 and 100%00"}'
    response = http.post("/v1/reinstatements", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 404  # got past the guard: the account is unknown


def test_counts_past_the_integer_columns_are_a_422_naming_the_field(http: TestClient) -> None:
    account = {"platform_id": "big-1", "handle": "big", "created_at": "2026-01-01T00:00:00Z"}
    response = http.post("/v1/accounts", json={**account, "follower_count": 2**31})
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "follower_count"
    assert http.post("/v1/accounts", json={**account, "follower_count": 2**31 - 1}).status_code == 201


def test_ordinary_paths_and_queries_pass_the_guard(http: TestClient) -> None:
    assert http.get("/v1/posts/post-1%20x?note=a%0Ab").status_code == 404  # a newline in a query is data
    assert http.get("/healthz").status_code == 200


def test_headers_on_a_413(http: TestClient, rt: Runtime) -> None:
    response = http.post("/v1/posts", content=b"x" * (rt.settings.max_body_bytes + 1))
    assert response.status_code == 413
    assert_secure(response, no_store=True)


def test_headers_on_a_static_file(http: TestClient) -> None:
    response = http.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert_secure(response, no_store=False)
    assert response.headers.get("cache-control") != "no-store"  # static assets may be cached


def test_headers_on_a_500(http: TestClient) -> None:
    response = http.get("/test-crash")
    assert response.status_code == 500
    assert response.json()["error"] == "internal"
    assert_secure(response, no_store=False)


def test_a_route_cannot_weaken_the_policy(http: TestClient) -> None:
    response = http.get("/test-weak")
    assert response.headers.get_list("content-security-policy") == [CONTENT_SECURITY_POLICY]


def test_hsts_only_over_https(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        secure = c.get("/healthz")
    assert secure.headers["strict-transport-security"].startswith("max-age=31536000")
    with TestClient(app) as c:
        assert "strict-transport-security" not in c.get("/healthz").headers


def test_csp_allows_no_inline_script_or_eval() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


def test_swagger_and_redoc_are_not_served_but_the_openapi_document_is(http: TestClient) -> None:
    assert http.get("/docs").status_code == 404
    assert http.get("/redoc").status_code == 404
    assert http.get("/docs/oauth2-redirect").status_code == 404
    assert http.get("/openapi.json").json()["info"]["title"] == "Townsquare"


INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
JS_URL = re.compile(r"""(href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def test_templates_need_no_inline_script_or_style() -> None:
    templates = sorted((WEB / "templates").rglob("*.html"))
    assert templates, "no templates found"
    problems = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for name, pattern in (
            ("inline <script>", INLINE_SCRIPT),
            ("on...= handler", EVENT_HANDLER),
            ("style= attribute", STYLE_ATTRIBUTE),
            ("<style> element", STYLE_ELEMENT),
            ("javascript: URL", JS_URL),
        ):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(WEB)}:{line}: {name}: {match.group(0)[:80]}")
    assert not problems, "templates the CSP would break:\n" + "\n".join(problems)


def test_the_template_scan_catches_what_it_should() -> None:
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/htmx.min.js"></script>')
    assert EVENT_HANDLER.search('<button onclick="go()">')
    assert not EVENT_HANDLER.search('<button class="one">')
    assert STYLE_ATTRIBUTE.search('<div style="color: red">')
    assert JS_URL.search('<a href="javascript:void(0)">')


# --- no secrets in logs -------------------------------------------------------------------------

SECRETS = {
    "bearer": "Bearer ts_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_",
    "ts token": "ts_ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
    "password json": '{"username": "ana", "password": "correct horse battery"}',
    "password repr": "{'username': 'ana', 'password': 'correct horse battery'}",
    "password form": "username=ana&password=correct+horse+battery&csrf_token=abc123def",
    "cookie": "cookie: ts_session=s3ss10nS3cr3tValue; theme=dark",
    "totp secret": "totp secret is JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    "otpauth": "otpauth://totp/Townsquare:ana?secret=JBSWY3DPEHPK3PXP&issuer=Townsquare",
    "query": "GET /v1/posts/p1?token=plainTokenValue123&x=1",
    "basic": "Authorization: Basic YW5hOmNvcnJlY3QgaG9yc2U=",
}
PLAINTEXTS = [
    "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210",
    "correct horse battery",
    "correct+horse+battery",
    "abc123def",
    "s3ss10nS3cr3tValue",
    "JBSWY3DPEHPK3PXP",
    "plainTokenValue123",
    "YW5hOmNvcnJlY3QgaG9yc2U=",
]


def leaked(text: str, plaintexts: list[str]) -> list[str]:
    """The plaintexts that appear in `text`."""
    return [p for p in plaintexts if p in text]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_redact_removes_each_kind_of_secret(name: str) -> None:
    clean = redact(SECRETS[name])
    assert REDACTED in clean
    assert not leaked(clean, PLAINTEXTS), clean


def test_redact_leaves_ordinary_text_alone() -> None:
    for text in (
        "the token is unknown, expired or revoked",
        "POST /v1/posts HTTP/1.1 201",
        "basic checks passed for 12 posts",
        "policy hate_speech v3 published by ana",
    ):
        assert redact(text) == text


def _record(
    msg: str, args: object = None, name: str = "townsquare.test", exc: bool = False
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("login failed for password=hunter2hunter2")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)  # type: ignore[arg-type]


def test_filter_redacts_message_args_and_traceback() -> None:
    cases = [
        _record("auth header %s", ("Bearer ts_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_",)),
        _record("login body %r", ({"password": "correct horse battery"},)),
        _record("login password=%s for %s", ("correct horse battery", "ana")),  # split across format
        _record("headers %(h)s", ({"h": {"authorization": "Bearer plainTokenValue123"}},)),
        _record(SECRETS["cookie"]),
        _record("crash", exc=True),
    ]
    formatter = logging.Formatter("%(message)s")
    for record in cases:
        assert RedactFilter().filter(record) is True  # never drops a record
        text = formatter.format(record)
        assert not leaked(text, [*PLAINTEXTS, "hunter2hunter2"]), text
    assert "ValueError" in formatter.format(cases[-1])  # the traceback itself survives


def test_access_log_keeps_its_shape_and_loses_the_query() -> None:
    record = _record(
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/posts/p1?token=plainTokenValue123", "1.1", 200),
        name="uvicorn.access",
    )
    redact_record(record)
    assert isinstance(record.args, tuple)
    assert record.args[2] == "/v1/posts/p1"
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/posts/p1 HTTP/1.1" 200'


def test_uvicorn_log_config_filters_every_handler() -> None:
    config = uvicorn_log_config("info")
    assert all("redact" in handler["filters"] for handler in config["handlers"].values())
    assert "redact" in config["root"]["filters"]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert "redact" in config["loggers"][name]["filters"]
    assert "headers" not in config["formatters"]["access"]["fmt"]
    logging.config.dictConfig(config)  # valid for dictConfig, as uvicorn will load it
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})


def _login_like_requests(c: TestClient, token: str, password: str) -> None:
    for path in ("/v1/auth/login", "/v1/auth/token", "/login"):
        c.post(path, json={"username": "ana", "password": password})
        c.post(path, data={"username": "ana", "password": password, "csrf_token": "csrf-" + token[3:]})
    c.get("/v1/policies", headers={"Authorization": f"Bearer {token}"})
    c.get(
        f"/v1/posts/missing?token={token}&password={password}", headers={"Authorization": f"Bearer {token}"}
    )
    c.cookies.set("ts_session", token)
    c.get("/v1/policies", headers={"Authorization": ""})
    c.cookies.clear()
    c.get("/v1/policies", headers={"Authorization": "Bearer ts_wrongwrongwrongwrongwrong"})
    c.get("/test-crash", params={"token": token}, headers={"Authorization": f"Bearer {token}"})


def test_no_token_or_password_reaches_any_log(
    rt: Runtime, app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    token = seed_user(rt, "log-moderator", ["moderator"])
    platform = seed_user(rt, "log-platform", ["platform"])
    password = "Sup3r-Secret-Passw0rd"
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's included
    with TestClient(app, raise_server_exceptions=False) as c:
        _login_like_requests(c, token, password)
        _login_like_requests(c, platform, password)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", f"/v1/posts/x?token={token}", "1.1", 200
    )
    logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=_crash_info(token))
    assert any(r.name == "townsquare.test" for r in caplog.records), "the crash route did not log"
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    secrets = [token, token[3:], platform, platform[3:], password]
    assert not leaked(text, secrets), [line for line in text.splitlines() if leaked(line, secrets)][:5]


def _crash_info(token: str) -> BaseException:
    try:
        raise PermissionError(f"refused {token}")
    except PermissionError as exc:
        return exc


def test_redaction_is_installed_process_wide_by_create_app(app: FastAPI) -> None:
    record = logging.getLogger("some.library").makeRecord(
        "some.library", logging.INFO, __file__, 1, "sent %s", ("Bearer plainTokenValue123",), None
    )
    assert "plainTokenValue123" not in record.getMessage()
