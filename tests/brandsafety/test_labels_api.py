"""Labels through the API: every post is labelled at ingest, with evidence and a version; accounts too."""

from __future__ import annotations

from tests.brandsafety.conftest import World
from tests.fixtures import factories as f


def test_a_safe_post_has_no_labels_and_a_risky_one_is_explained(world: World) -> None:
    safe = world.admin.get(f"/v1/brand-safety/posts/{world.posts['safe']}").json()
    assert safe["labels"] == []
    assert safe["status"] == "visible"
    party = world.admin.get(f"/v1/brand-safety/posts/{world.posts['party']}").json()
    [label] = party["labels"]
    assert (label["category"], label["risk"]) == ("pg0WhF", "bsr002")
    assert label["name"].startswith("Illegal Drugs")
    assert label["evidence"][0]["kind"] == "rule"
    assert "brandsafety.rules@" in label["evidence"][0]["scorer"]
    assert party["label_version"].startswith("brandsafety.rules@")


def test_news_is_low_risk_and_dehumanising_hate_is_the_floor(world: World) -> None:
    news = world.admin.get(f"/v1/brand-safety/posts/{world.posts['news']}").json()
    assert [(x["category"], x["risk"]) for x in news["labels"]] == [("avbNf2", "bsr004")]
    hate = world.admin.get(f"/v1/brand-safety/posts/{world.posts['hate']}").json()
    assert ("HxqYV1", "bsr001") in [(x["category"], x["risk"]) for x in hate["labels"]]


def test_an_edit_relabels_the_post(world: World) -> None:
    pid = world.posts["safe"]
    resp = world.admin.patch(
        f"/v1/posts/{pid}", json={"text": "Selling xanax bars and oxy, discreet shipping"}
    )
    assert resp.status_code == 200, resp.text
    labels = world.admin.get(f"/v1/brand-safety/posts/{pid}").json()["labels"]
    assert [(x["category"], x["risk"]) for x in labels] == [("pg0WhF", "bsr001")]


def test_a_batch_is_labelled_too(world: World) -> None:
    author = f.account()
    world.admin.post("/v1/accounts", json=author)
    posts = [f.post(author["platform_id"], t) for t in ("Gun show this weekend, antique rifles", "Nice day")]
    assert world.admin.post("/v1/posts/batch", json={"posts": posts}).status_code == 200
    first = world.admin.get(f"/v1/brand-safety/posts/{posts[0]['platform_id']}").json()["labels"]
    assert [x["category"] for x in first] == ["avbNf2"]
    assert world.admin.get(f"/v1/brand-safety/posts/{posts[1]['platform_id']}").json()["labels"] == []


def test_an_account_carries_the_categories_most_of_its_posts_carry(world: World) -> None:
    author = f.account()
    world.admin.post("/v1/accounts", json=author)
    texts = [
        "Whisky tasting at the distillery tonight",
        "Craft beer festival with 40 breweries",
        "Sunny today",
    ]
    world.admin.post("/v1/posts/batch", json={"posts": [f.post(author["platform_id"], t) for t in texts]})
    acct = world.admin.get(f"/v1/brand-safety/accounts/{author['platform_id']}").json()
    assert acct["standing"] == "good"
    assert acct["posts"] == 3
    assert [(x["category"], x["risk"]) for x in acct["labels"]] == [("pg0WhF", "bsr003")]
    clean = world.admin.get(f"/v1/brand-safety/accounts/{world.authors['safe']}").json()
    assert clean["labels"] == []


def test_unknown_ids_are_404_naming_the_field(world: World) -> None:
    resp = world.admin.get("/v1/brand-safety/posts/no-such-post")
    assert resp.status_code == 404
    assert resp.json()["detail"]["field"] == "platform_id"
    assert world.admin.get("/v1/brand-safety/accounts/no-such-account").status_code == 404
