"""A small brand-safety world: two advertisers with one staff user each, the ad server, and posts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TOKEN, seed_admin, seed_user
from tests.fixtures import factories as f
from townsquare.app import create_app
from townsquare.runtime import Runtime

TEXTS = {
    "safe": "Lovely weather at the lake today, the kids fed the ducks",
    "party": "Happy hour starts now! Unlimited shots for $15 until midnight",
    "news": "Police seized illegal firearms in a raid on Tuesday, officials said",
    "hate": "Muslims are vermin and should be wiped out",
    "brand": "New sneakers from the Zephyr brand just dropped, so comfy",
}


@dataclass
class World:
    """Clients per role and the posts by name."""

    admin: TestClient
    ads: TestClient  # the platform's ad server (role platform)
    ann: TestClient  # advertiser acme
    bob: TestClient  # advertiser globex
    boss: TestClient  # brand_safety_admin
    posts: dict[str, str] = field(default_factory=dict)
    authors: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, int] = field(default_factory=dict)

    def profile(self, client: TestClient, advertiser: str, **body: Any) -> int:
        """Create a profile through the API; its id."""
        resp = client.post("/v1/brand-safety/profiles", json={"advertiser": advertiser, "name": "p", **body})
        assert resp.status_code == 201, resp.text
        return int(resp.json()["id"])

    def check(self, profile: int, *names: str, client: TestClient | None = None) -> dict[str, Any]:
        """Check placements (by post name) under a profile; results by post name."""
        pids = [self.posts[n] for n in names]
        resp = (client or self.ads).post(
            "/v1/brand-safety/check", json={"profile": profile, "placements": pids}
        )
        assert resp.status_code == 200, resp.text
        by_pid = {r["post"]: r for r in resp.json()["results"]}
        return {n: by_pid[self.posts[n]] for n in names}


def _client(app: Any, token: str) -> TestClient:
    return TestClient(app, headers={"Authorization": f"Bearer {token}"})


@contextmanager
def make_world(rt: Runtime) -> Iterator[World]:
    """Advertisers acme (ann) and globex (bob), the ad server, a brand-safety admin, and five posts."""
    seed_admin(rt)
    tokens = {
        "ads": seed_user(rt, "adserver", ["platform"]),
        "ann": seed_user(rt, "ann", ["advertiser"]),
        "bob": seed_user(rt, "bob", ["advertiser"]),
        "boss": seed_user(rt, "boss", ["brand_safety_admin"]),
    }
    app = create_app(runtime=rt, keep_chain=False)
    with (
        _client(app, TOKEN) as admin,
        _client(app, tokens["ads"]) as ads,
        _client(app, tokens["ann"]) as ann,
        _client(app, tokens["bob"]) as bob,
        _client(app, tokens["boss"]) as boss,
    ):
        w = World(admin, ads, ann, bob, boss)
        for key, user in (("acme", "ann"), ("globex", "bob")):
            assert (
                boss.post("/v1/brand-safety/advertisers", json={"key": key, "name": key.title()}).status_code
                == 201
            )
            resp = boss.post(f"/v1/brand-safety/advertisers/{key}/members", json={"username": user})
            assert resp.status_code == 201, resp.text
        for name, text in TEXTS.items():
            author = f.account()
            assert admin.post("/v1/accounts", json=author).status_code == 201
            body = f.post(author["platform_id"], text)
            assert admin.post("/v1/posts", json=body).status_code == 201
            w.posts[name], w.authors[name] = body["platform_id"], author["platform_id"]
        yield w


@pytest.fixture
def world(rt: Runtime) -> Iterator[World]:
    """The brand-safety world on this test's database."""
    with make_world(rt) as w:
        yield w
