"""Every route declares a permission; without a credential every protected route answers 401."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from townsquare.access.permissions import ALL_PERMISSIONS, AUTHENTICATED
from townsquare.access.routes import RouteInfo, api_routes
from townsquare.app import create_app
from townsquare.runtime import Runtime


def _routes(rt: Runtime) -> list[RouteInfo]:
    routes = api_routes(create_app(runtime=rt, keep_chain=False))
    assert len(routes) >= 17
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_a_known_permission(rt: Runtime) -> None:
    for route in _routes(rt):
        perm = route.permission
        assert perm is not None, f"{route.path} declares no permission"
        known = perm in ("public", AUTHENTICATED) or perm in ALL_PERMISSIONS
        assert known, f"{route.path}: unknown permission {perm}"


def test_only_landing_health_login_and_the_published_appeal_pages_are_public(rt: Runtime) -> None:
    public = {(m, r.path) for r in _routes(rt) if r.permission == "public" for m in r.methods - {"HEAD"}}
    assert public == {
        ("GET", "/"),
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("POST", "/login"),
        ("POST", "/v1/auth/login"),
        # A user's appeal is reached by a signed, expiring link, not a login.
        ("GET", "/appeal/{token}"),
        ("POST", "/appeal/{token}"),
        # The published reinstatement log and the council's record.
        ("GET", "/public/reinstatements"),
        ("GET", "/v1/public/reinstatements"),
        ("GET", "/v1/public/council"),
        # The published transparency reports (issue 14) and the readiness probe (issue 15).
        ("GET", "/transparency"),
        ("GET", "/transparency/reports/{report_id}"),
        ("GET", "/transparency/reports/{report_id}/{name}"),
        ("GET", "/readyz"),
    }


def test_self_service_routes_need_only_a_login(rt: Runtime) -> None:
    signed_in = {(m, r.path) for r in _routes(rt) if r.permission == AUTHENTICATED for m in r.methods}
    assert signed_in == {
        ("GET", "/v1/auth/me"),
        ("POST", "/v1/auth/logout"),
        ("POST", "/v1/auth/password"),
        ("POST", "/v1/auth/totp/enrol"),
        ("POST", "/v1/auth/totp/confirm"),
        ("POST", "/v1/auth/tokens"),
        ("GET", "/v1/auth/tokens"),
        ("DELETE", "/v1/auth/tokens/{token_id}"),
        ("POST", "/logout"),
        ("GET", "/password"),
        ("POST", "/password"),
        ("GET", "/totp"),
        ("POST", "/totp"),
        ("POST", "/totp/confirm"),
        # One's own wellbeing settings and API tokens as pages (issue 13).
        ("GET", "/review/settings"),
        ("POST", "/review/settings"),
        ("GET", "/tokens"),
        ("POST", "/tokens"),
        ("POST", "/tokens/{token_id}/revoke"),
    }


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_protected_routes_refuse_missing_or_wrong_tokens(
    anon: TestClient, rt: Runtime, token: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    checked = 0
    for route in _routes(rt):
        if route.permission == "public":
            continue
        for method in route.methods:
            resp = anon.request(method, _concrete(route.path), headers=headers, json={})
            assert resp.status_code == 401, f"{method} {route.path} -> {resp.status_code}"
            assert resp.json()["error"] == "unauthorized"
            checked += 1
    assert checked >= 15


def test_refusal_stores_nothing(anon: TestClient, rt: Runtime) -> None:
    body = {"platform_id": "a1", "handle": "x", "created_at": "2024-01-01T00:00:00Z"}
    assert anon.post("/v1/accounts", json=body).status_code == 401
    with rt.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM accounts").scalar() == 0


def test_public_routes_answer_without_a_token(anon: TestClient) -> None:
    assert anon.get("/").status_code == 200
    assert anon.get("/healthz").json()["status"] == "ok"
