"""The OpenAPI document describes every endpoint and its errors."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_lists_every_v1_endpoint_with_errors(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    paths = doc["paths"]
    expected = {
        ("post", "/v1/accounts"),
        ("patch", "/v1/accounts/{platform_id}"),
        ("get", "/v1/accounts/{platform_id}"),
        ("post", "/v1/posts"),
        ("post", "/v1/posts/batch"),
        ("patch", "/v1/posts/{platform_id}"),
        ("delete", "/v1/posts/{platform_id}"),
        ("get", "/v1/posts/{platform_id}"),
        ("post", "/v1/posts/metrics"),
        ("post", "/v1/reports"),
        ("get", "/v1/actions/{action_id}/statement"),
    }
    for method, path in expected:
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from OpenAPI"
    for path, ops in paths.items():
        if not path.startswith("/v1"):
            continue
        for method, op in ops.items():
            codes = set(op["responses"])
            assert {"401", "403", "422"} <= codes, f"{method.upper()} {path} documents {sorted(codes)}"


def test_openapi_declares_bearer_security(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
