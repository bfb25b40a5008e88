"""API tokens: shown once, stored hashed, scoped, expiring, revocable at once, rate-limited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import Clock, seed_user
from tests.fixtures import factories
from tests.fixtures.staff import https_client
from townsquare.runtime import Runtime


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _new_token(client: TestClient, **body: object) -> dict[str, object]:
    resp = client.post("/v1/auth/tokens", json={"name": "script", **body})
    assert resp.status_code == 201, resp.text
    data: dict[str, object] = resp.json()
    return data


def test_a_token_is_shown_once_and_stored_only_hashed(client: TestClient, rt: Runtime) -> None:
    created = _new_token(client, scopes=["posts:read"])
    plain = str(created["token"])
    assert plain.startswith("ts_")
    assert len(plain) > 40
    listed = client.get("/v1/auth/tokens").json()
    mine = next(t for t in listed if t["id"] == created["id"])
    assert "token" not in mine
    assert "token_hash" not in mine
    assert mine["prefix"] == plain[:10]
    assert mine["scopes"] == ["posts:read"]
    assert plain not in str(listed)
    with rt.engine.connect() as conn:
        tokens = conn.execute(text("SELECT * FROM api_tokens")).all()
        bodies = conn.execute(text("SELECT body FROM events")).scalars().all()
    assert tokens
    assert not any(plain in str(value) for row in tokens for value in row)
    assert any('"type":"token.created"' in b for b in bodies)
    assert not any(plain in b for b in bodies)


def test_a_scoped_token_is_refused_outside_its_scopes(client: TestClient, rt: Runtime) -> None:
    author = factories.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    reader = str(_new_token(client, scopes=["posts:read"])["token"])
    with https_client(rt) as c:
        assert c.get("/v1/posts/post-none", headers=_bearer(reader)).status_code == 404  # admitted
        post = factories.post(author["platform_id"])
        refused = c.post("/v1/posts", json=post, headers=_bearer(reader))
        assert refused.status_code == 403
        assert refused.json()["detail"]["permission"] == "posts:write"
        wider = c.post(
            "/v1/auth/tokens", json={"name": "x", "scopes": ["posts:write"]}, headers=_bearer(reader)
        )
        assert wider.status_code == 403  # a token cannot mint a wider one
        same = c.post("/v1/auth/tokens", json={"name": "x"}, headers=_bearer(reader))
        assert same.status_code == 201
        assert same.json()["scopes"] == ["posts:read"]


def test_a_token_expires(client: TestClient, rt: Runtime, clock: Clock) -> None:
    plain = str(_new_token(client, days=1)["token"])
    with https_client(rt) as c:
        assert c.get("/v1/auth/me", headers=_bearer(plain)).status_code == 200
        clock.advance(days=1, seconds=1)
        assert c.get("/v1/auth/me", headers=_bearer(plain)).status_code == 401


def test_revocation_is_immediate(client: TestClient, rt: Runtime) -> None:
    created = _new_token(client)
    plain = str(created["token"])
    with https_client(rt) as c:
        assert c.get("/v1/users", headers=_bearer(plain)).status_code == 200
        assert client.delete(f"/v1/auth/tokens/{created['id']}").status_code == 200
        assert c.get("/v1/users", headers=_bearer(plain)).status_code == 401
    again = client.delete(f"/v1/auth/tokens/{created['id']}")
    assert again.status_code == 409


def test_only_users_managers_revoke_other_peoples_tokens(client: TestClient, rt: Runtime) -> None:
    moderator = seed_user(rt, "mo", ["moderator"])
    admins = client.get("/v1/auth/tokens").json()
    with https_client(rt) as c:
        mine = c.get("/v1/auth/tokens", headers=_bearer(moderator)).json()
        refused = c.delete(f"/v1/auth/tokens/{admins[0]['id']}", headers=_bearer(moderator))
        assert refused.status_code == 403
    assert client.delete(f"/v1/auth/tokens/{mine[0]['id']}").status_code == 200  # admin: users:manage
    with https_client(rt) as c:
        assert c.get("/v1/auth/me", headers=_bearer(moderator)).status_code == 401


def test_token_creation_is_rate_limited(client: TestClient, rt: Runtime) -> None:
    for _ in range(rt.settings.login_rate_per_minute):
        _new_token(client)
    limited = client.post("/v1/auth/tokens", json={"name": "one too many"})
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
