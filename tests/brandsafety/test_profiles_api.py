"""Advertisers and profiles: presets and tolerances, limits, and each advertiser sees only its own."""

from __future__ import annotations

import pytest

from tests.brandsafety.conftest import World


def test_a_profile_expands_its_preset_per_category(world: World) -> None:
    resp = world.ann.post(
        "/v1/brand-safety/profiles",
        json={"advertiser": "acme", "name": "family", "preset": "limited", "tolerances": {"pg0WhF": "none"},
              "excluded_keywords": ["zephyr", "zephyr"], "excluded_accounts": [world.authors["news"]]},
    )  # fmt: skip
    assert resp.status_code == 201, resp.text
    p = resp.json()
    assert p["version"] == 1
    assert p["excluded_keywords"] == ["zephyr"]
    assert p["effective"]["pg0WhF"] == "none"
    assert p["effective"]["Rm3SiT"] == "bsr004"
    patched = world.ann.patch(f"/v1/brand-safety/profiles/{p['id']}", json={"preset": "expanded"}).json()
    assert patched["version"] == 2
    assert patched["effective"]["Rm3SiT"] == "bsr002"
    assert patched["excluded_accounts"] == [world.authors["news"]]  # fields not sent stay


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tolerances": {"nope": "bsr003"}}, "tolerances"),
        ({"tolerances": {"Rm3SiT": "bsr001"}}, "tolerances"),
        ({"preset": "relaxed"}, "preset"),
        ({"excluded_keywords": ["k"] * 2001}, "excluded_keywords"),
        ({"excluded_keywords": ["!!!"]}, "excluded_keywords"),
        ({"excluded_accounts": ["a"] * 2001}, "excluded_accounts"),
        ({"excluded_accounts": ["no-such-account"]}, "excluded_accounts.0"),
        ({"allowed_posts": ["no-such-post"]}, "allowed_posts.0"),
        ({"advertiser": "no-such-advertiser"}, "advertiser"),
    ],
)
def test_bad_profiles_are_refused_naming_the_field_and_nothing_is_stored(
    world: World, body: dict[str, object], field: str
) -> None:
    resp = world.ann.post("/v1/brand-safety/profiles", json={"advertiser": "acme", "name": "x", **body})
    assert resp.status_code in (404, 422), resp.text
    detail = resp.json()["detail"]
    fields = [d["field"] for d in detail] if isinstance(detail, list) else [detail["field"]]
    assert any(x.startswith(field) for x in fields), fields
    assert world.ann.get("/v1/brand-safety/profiles").json()["profiles"] == []


def test_a_bad_change_leaves_the_profile_as_it_was(world: World) -> None:
    pid = world.profile(world.ann, "acme", excluded_keywords=["zephyr"])
    resp = world.ann.patch(f"/v1/brand-safety/profiles/{pid}", json={"excluded_accounts": ["ghost"]})
    assert resp.status_code == 422
    assert resp.json()["detail"]["field"] == "excluded_accounts.0"
    p = world.ann.get(f"/v1/brand-safety/profiles/{pid}").json()
    assert p["version"] == 1
    assert p["excluded_accounts"] == []
    assert p["excluded_keywords"] == ["zephyr"]


def test_each_advertiser_sees_and_changes_only_its_own(world: World) -> None:
    mine = world.profile(world.ann, "acme")
    theirs = world.profile(world.bob, "globex")
    assert [a["key"] for a in world.ann.get("/v1/brand-safety/advertisers").json()["advertisers"]] == ["acme"]
    assert [p["id"] for p in world.ann.get("/v1/brand-safety/profiles").json()["profiles"]] == [mine]
    # Another advertiser's records answer exactly as missing ones, through every route.
    refused = [
        world.ann.get(f"/v1/brand-safety/profiles/{theirs}"),
        world.ann.patch(f"/v1/brand-safety/profiles/{theirs}", json={"preset": "limited"}),
        world.ann.post("/v1/brand-safety/profiles", json={"advertiser": "globex", "name": "sneaky"}),
        world.ann.post(
            "/v1/brand-safety/check", json={"profile": theirs, "placements": [world.posts["safe"]]}
        ),
        world.ann.get("/v1/brand-safety/reports/globex"),
        world.ann.get("/v1/brand-safety/reports/globex/export"),
        world.ann.get("/brand-safety/report?advertiser=globex"),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert world.bob.get(f"/v1/brand-safety/profiles/{theirs}").json()["version"] == 1
    # An advertiser's staff cannot create advertisers or add members, nor send impressions.
    assert world.ann.post("/v1/brand-safety/advertisers", json={"key": "x", "name": "x"}).status_code == 403
    assert (
        world.ann.post("/v1/brand-safety/advertisers/acme/members", json={"username": "bob"}).status_code
        == 403
    )
    imp = {
        "id": "i",
        "ad": "a",
        "advertiser": "acme",
        "post": world.posts["safe"],
        "served_at": "2026-03-02T12:00:00Z",
    }
    assert world.ann.post("/v1/brand-safety/impressions", json={"impressions": [imp]}).status_code == 403


def test_the_brand_safety_admin_sees_every_advertiser_and_the_ad_server_checks_any_profile(
    world: World,
) -> None:
    mine = world.profile(world.ann, "acme")
    theirs = world.profile(world.bob, "globex")
    assert {p["id"] for p in world.boss.get("/v1/brand-safety/profiles").json()["profiles"]} == {mine, theirs}
    assert world.boss.get("/v1/brand-safety/reports/globex").status_code == 200
    assert world.check(theirs, "safe")["safe"]["allowed"]
    assert world.ads.get("/v1/brand-safety/reports/acme").status_code == 403  # the ad server reads no reports


def test_advertisers_and_members_are_validated(world: World) -> None:
    assert (
        world.boss.post("/v1/brand-safety/advertisers", json={"key": "acme", "name": "Again"}).status_code
        == 409
    )
    resp = world.boss.post("/v1/brand-safety/advertisers", json={"key": "bad key!", "name": "x"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] == "key"
    resp = world.boss.post("/v1/brand-safety/advertisers/acme/members", json={"username": "nobody"})
    assert resp.status_code == 404
    assert resp.json()["detail"]["field"] == "username"
    assert (
        world.boss.post("/v1/brand-safety/advertisers/acme/members", json={"username": "ann"}).status_code
        == 409
    )
