"""The permission matrix in docs/access-matrix.yaml is the contract: roles, routes, and real answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.conftest import seed_user
from townsquare.access.roles import ROLES
from townsquare.access.routes import api_routes
from townsquare.app import create_app
from townsquare.config import PROJECT_ROOT
from townsquare.runtime import Runtime

MATRIX_FILE = PROJECT_ROOT / "docs" / "access-matrix.yaml"
# Path parameters get values that match nothing, so a permitted request answers 404/422, never a change.
UNKNOWN = "does-not-exist-999999"


def _matrix() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(Path(MATRIX_FILE).read_text(encoding="utf-8"))
    return data


def _app_routes(rt: Runtime) -> dict[str, str]:
    app = create_app(runtime=rt, keep_chain=False)
    out = {}
    for r in api_routes(app):
        for method in sorted(r.methods - {"HEAD"}):
            out[f"{method} {r.path}"] = r.permission or "NONE"
    return out


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "999999" if m.group(0).endswith("id}") else UNKNOWN, path)


def test_roles_in_the_file_match_the_code() -> None:
    written = {role: set(perms) for role, perms in _matrix()["roles"].items()}
    assert written == {role: set(perms) for role, perms in ROLES.items()}


def test_every_route_is_in_the_file_with_the_permission_it_declares(rt: Runtime) -> None:
    written: dict[str, str] = _matrix()["routes"]
    actual = _app_routes(rt)
    missing = sorted(set(actual) - set(written))
    assert not missing, f"routes missing from {MATRIX_FILE.name}: {missing}"
    stale = sorted(set(written) - set(actual))
    assert not stale, f"routes in {MATRIX_FILE.name} that the app does not serve: {stale}"
    wrong = {k: (written[k], v) for k, v in actual.items() if written[k] != v}
    assert not wrong, f"(file, code) permission mismatch: {wrong}"


def _expect_allowed(permission: str, granted: set[str] | None) -> bool:
    """Whether the file says a caller holding `granted` (None: no credentials) gets past the door."""
    if permission == "public":
        return True
    if granted is None:
        return False
    return permission == "authenticated" or permission in granted


def _drive(c: TestClient, matrix: dict[str, Any], granted: set[str] | None, who: str) -> int:
    checked = 0
    refused = 401 if granted is None else 403
    for route, permission in sorted(matrix["routes"].items()):
        method, path = route.split(" ", 1)
        resp = c.request(method, _concrete(path), json={})
        if _expect_allowed(permission, granted):
            assert resp.status_code not in (401, 403), f"{who} may use {route}: {resp.status_code}"
        else:
            assert resp.status_code == refused, f"{who} lacks {permission}; {route} -> {resp.status_code}"
        assert resp.status_code < 500, f"{route} -> {resp.status_code} {resp.text[:200]}"
        checked += 1
    return checked


@pytest.mark.parametrize("role", sorted(ROLES))
def test_every_route_answers_each_role_as_the_file_says(rt: Runtime, role: str) -> None:
    matrix = _matrix()
    token = seed_user(rt, f"matrix-{role}", [role])
    app = create_app(runtime=rt, keep_chain=False)
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="https://testserver", headers=headers) as c:
        checked = _drive(c, matrix, set(matrix["roles"][role]), role)
    assert checked == len(matrix["routes"])


def test_every_route_answers_an_anonymous_caller_as_the_file_says(rt: Runtime) -> None:
    matrix = _matrix()
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, base_url="https://testserver") as c:
        checked = _drive(c, matrix, None, "anonymous")
    assert checked == len(matrix["routes"])


def test_a_role_with_one_permission_less_is_refused(rt: Runtime) -> None:
    """The check is live, not a copy of the file: narrow a token's scopes and the door shuts."""
    matrix = _matrix()
    token = seed_user(rt, "matrix-narrow", ["auditor"])
    app = create_app(runtime=rt, keep_chain=False)
    with TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"}) as c:
        assert c.get("/v1/audit/events").status_code == 200
        resp = c.post("/v1/auth/tokens", json={"name": "narrow", "scopes": ["posts:read"]})
        assert resp.status_code == 201, resp.text
        narrow = resp.json()["token"]
    with TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {narrow}"}) as c:
        checked = _drive(c, matrix, {"posts:read"}, "auditor token scoped to posts:read")
    assert checked == len(matrix["routes"])
