"""The adjacency check: reasons per placement, allow lists, demonetisation, removal, bans, bad input."""

from __future__ import annotations

from tests.brandsafety.conftest import World


def _kinds(result: dict[str, object]) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in result["reasons"]]  # type: ignore[attr-defined]


def test_tolerance_keyword_and_account_block_with_reasons(world: World) -> None:
    pid = world.profile(
        world.ann,
        "acme",
        preset="moderate",
        excluded_keywords=["Zephyr"],
        excluded_accounts=[world.authors["news"]],
    )
    got = world.check(pid, "safe", "party", "news", "brand", "hate")
    assert got["safe"] == {"post": world.posts["safe"], "allowed": True, "reasons": []}
    assert _kinds(got["party"]) == [("category", "pg0WhF", "bsr002")]  # high is above moderate
    assert _kinds(got["news"]) == [("account", world.authors["news"])]  # low risk passes; the author does not
    assert _kinds(got["brand"]) == [("keyword", "Zephyr")]
    assert ("category", "HxqYV1", "bsr001") in _kinds(got["hate"])


def test_expanded_accepts_high_risk_and_none_accepts_nothing(world: World) -> None:
    expanded = world.profile(world.ann, "acme", preset="expanded", tolerances={"avbNf2": "none"})
    got = world.check(expanded, "party", "news", "hate")
    assert got["party"]["allowed"]
    assert _kinds(got["news"]) == [("category", "avbNf2", "bsr004")]
    assert not got["hate"]["allowed"]  # the floor is never monetisable


def test_allow_lists_lift_tolerances_and_keywords_but_never_the_floor(world: World) -> None:
    pid = world.profile(
        world.ann, "acme", preset="limited", excluded_keywords=["zephyr"],
        allowed_accounts=[world.authors["party"], world.authors["hate"]],
        allowed_posts=[world.posts["brand"]],
    )  # fmt: skip
    got = world.check(pid, "party", "brand", "hate")
    assert got["party"]["allowed"]
    assert got["brand"]["allowed"]
    assert ("category", "HxqYV1", "bsr001") in _kinds(got["hate"])


def test_keywords_match_whole_words_of_the_normalised_text(world: World) -> None:
    pid = world.profile(world.ann, "acme", excluded_keywords=["ZEPH", "sneakers from the"])
    got = world.check(pid, "brand")
    assert _kinds(got["brand"]) == [("keyword", "sneakers from the")]  # "zeph" is not a word of the post


def test_demonetise_puts_a_post_at_the_floor_for_everyone_and_reversal_restores_it(world: World) -> None:
    expanded = world.profile(world.ann, "acme", preset="expanded")
    other = world.profile(world.bob, "globex", preset="expanded", allowed_accounts=[world.authors["safe"]])
    action = world.admin.post(
        "/v1/actions",
        json={"action": "demonetise", "policy": "spam", "post": world.posts["safe"], "reason": "ad farm"},
    )
    assert action.status_code == 201, action.text
    for profile in (expanded, other):
        result = world.check(profile, "safe")["safe"]
        assert ("post_status", "demonetised", "bsr001") in _kinds(result)
        assert ("category", "6i4dB6", "bsr001") in _kinds(result)
    labels = world.admin.get(f"/v1/brand-safety/posts/{world.posts['safe']}").json()["labels"]
    assert labels[0]["evidence"] == [{"kind": "action", "action": "demonetise", "policy": "spam"}]
    resp = world.admin.post(f"/v1/actions/{action.json()['id']}/reverse", json={"reason": "mistake"})
    assert resp.status_code == 200, resp.text
    assert world.check(expanded, "safe")["safe"]["allowed"]


def test_removed_posts_deleted_posts_and_banned_accounts_are_never_allowed(world: World) -> None:
    pid = world.profile(world.ann, "acme", preset="expanded", allowed_accounts=[world.authors["news"]])
    world.admin.post("/v1/actions", json={"action": "remove", "policy": "spam", "post": world.posts["party"],
                                          "reason": "spam"})  # fmt: skip
    world.admin.delete(f"/v1/posts/{world.posts['brand']}")
    resp = world.admin.post(
        "/v1/actions",
        json={"action": "ban", "policy": "spam", "account": world.authors["news"], "reason": "bot"},
    )
    assert resp.status_code == 201, resp.text
    got = world.check(pid, "party", "brand", "news", "safe")
    assert ("post_status", "removed", "bsr001") in _kinds(got["party"])
    assert ("post_status", "deleted", "bsr001") in _kinds(got["brand"])
    assert ("account_standing", "banned", "bsr001") in _kinds(
        got["news"]
    )  # the allow list does not lift a ban
    assert got["safe"]["allowed"]
    acct = world.admin.get(f"/v1/brand-safety/accounts/{world.authors['news']}").json()
    assert acct["standing"] == "banned"
    assert ("6i4dB6", "bsr001") in [(x["category"], x["risk"]) for x in acct["labels"]]


def test_bad_checks_name_the_field(world: World) -> None:
    pid = world.profile(world.ann, "acme")
    resp = world.ads.post(
        "/v1/brand-safety/check", json={"profile": pid, "placements": [world.posts["safe"], "nope"]}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"]["field"] == "placements.1"
    resp = world.ads.post("/v1/brand-safety/check", json={"profile": pid, "placements": ["x"] * 1001})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] == "placements"
    resp = world.ads.post(
        "/v1/brand-safety/check", json={"profile": 987654, "placements": [world.posts["safe"]]}
    )
    assert resp.status_code == 404
    assert resp.json()["detail"]["field"] == "profile"
    resp = world.ads.post("/v1/brand-safety/check", json={"profile": pid, "placements": []})
    assert resp.status_code == 422


def test_a_profile_change_applies_at_the_next_check(world: World) -> None:
    pid = world.profile(world.ann, "acme", preset="expanded")
    assert world.check(pid, "party")["party"]["allowed"]
    world.ann.patch(f"/v1/brand-safety/profiles/{pid}", json={"preset": "limited"})
    assert not world.check(pid, "party")["party"]["allowed"]


def test_erasing_an_account_blanks_the_text_keywords_are_matched_on(world: World) -> None:
    pid = world.profile(world.ann, "acme", excluded_keywords=["zephyr"])
    assert not world.check(pid, "brand")["brand"]["allowed"]
    resp = world.admin.post(f"/v1/accounts/{world.authors['brand']}/erase", json={"reason": "user request"})
    assert resp.status_code == 200, resp.text
    assert world.check(pid, "brand")["brand"]["allowed"]
