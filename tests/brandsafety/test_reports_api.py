"""Impressions and the advertiser report: served vs now, the brand-safety rate, CSV, a verifiable export."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest

from tests.brandsafety.conftest import World
from tests.conftest import Clock

FLOOR_STATUS = {"demonetised", "removed", "deleted"}


def _imp(world: World, n: int, post: str, advertiser: str = "acme", **over: Any) -> dict[str, Any]:
    return {"id": f"imp-{advertiser}-{n}", "ad": "ad-1", "advertiser": advertiser, "post": world.posts[post],
            "served_at": "2026-03-02T12:30:00Z", **over}  # fmt: skip


def _served(world: World, clock: Clock) -> None:
    """Six acme impressions and one globex impression, then the 'party' post is removed an hour later."""
    clock.advance(hours=1)
    batch = [_imp(world, i, p) for i, p in enumerate(["safe", "safe", "party", "party", "news", "hate"])]
    batch.append(_imp(world, 9, "safe", advertiser="globex"))
    resp = world.ads.post("/v1/brand-safety/impressions", json={"impressions": batch})
    assert resp.status_code == 201, resp.text
    assert resp.json() == {"stored": 7, "repeated": 0}
    clock.advance(hours=1)
    resp = world.admin.post(
        "/v1/actions",
        json={"action": "remove", "policy": "spam", "post": world.posts["party"], "reason": "spam"},
    )
    assert resp.status_code == 201, resp.text


def test_the_report_shows_shares_when_served_and_now(world: World, clock: Clock) -> None:
    _served(world, clock)
    rep = world.ann.get(
        "/v1/brand-safety/reports/acme", params={"since": "2026-03-02", "until": "2026-03-03"}
    ).json()
    served, now = rep["served"], rep["now"]
    assert served["impressions"] == now["impressions"] == 6
    shares = {(c["category"], c["risk"]): c["share"] for c in served["categories"]}
    assert shares[("pg0WhF", "bsr002")] == pytest.approx(2 / 6, abs=1e-6)
    assert shares[("HxqYV1", "bsr001")] == pytest.approx(1 / 6, abs=1e-6)
    assert served["brand_safety_rate"] == pytest.approx(5 / 6, abs=1e-6)  # the hate post is below the floor
    assert now["brand_safety_rate"] == pytest.approx(3 / 6, abs=1e-6)  # ... and, now, the removed post too
    assert now["status"] == {"removed": 2, "visible": 4}
    assert served["status"] == {"visible": 6}
    outside = world.ann.get(
        "/v1/brand-safety/reports/acme", params={"since": "2026-03-03", "until": "2026-03-04"}
    )
    assert outside.json()["served"]["impressions"] == 0


def test_an_independent_verifier_recomputes_every_figure_from_the_export(world: World, clock: Clock) -> None:
    _served(world, clock)
    params = {"since": "2026-03-01", "until": "2026-03-04"}
    rep = world.ann.get("/v1/brand-safety/reports/acme", params=params).json()
    text = world.ann.get("/v1/brand-safety/reports/acme/export", params={**params, "format": "csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    assert {r["advertiser"] for r in rows} == {"acme"}
    for basis in ("served", "now"):
        pairs: Counter[tuple[str, str]] = Counter()
        safe = 0
        for r in rows:
            labels = [tuple(x.split(":", 1)) for x in r[f"{basis}_labels"].split(";") if x]
            pairs.update(labels)  # type: ignore[arg-type]
            floor = any(risk == "bsr001" for _, risk in labels)
            banned = r[f"{basis}_standing"] in {"banned", "suspended"}
            safe += not (floor or banned or r[f"{basis}_status"] in FLOOR_STATUS)
        fig = rep[basis]
        assert fig["brand_safety_rate"] == pytest.approx(safe / len(rows), abs=1e-6)
        assert {(c["category"], c["risk"]): c["impressions"] for c in fig["categories"]} == dict(pairs)
        for c in fig["categories"]:
            assert c["share"] == pytest.approx(pairs[(c["category"], c["risk"])] / len(rows), abs=1e-6)
        assert fig["status"] == dict(Counter(r[f"{basis}_status"] for r in rows))
    csv_report = world.ann.get("/v1/brand-safety/reports/acme", params={**params, "format": "csv"}).text
    rates = [line for line in csv_report.splitlines() if ",brand_safety_rate," in line]
    assert [line.rsplit(",", 1)[1] for line in rates] == [str(rep["served"]["brand_safety_rate"]),
                                                          str(rep["now"]["brand_safety_rate"])]  # fmt: skip


def test_a_repeated_batch_is_harmless_and_a_bad_one_stores_nothing(world: World, clock: Clock) -> None:
    batch = [_imp(world, 1, "safe"), _imp(world, 2, "party")]
    assert world.ads.post("/v1/brand-safety/impressions", json={"impressions": batch}).status_code == 201
    again = world.ads.post("/v1/brand-safety/impressions", json={"impressions": batch})
    assert again.json() == {"stored": 0, "repeated": 2}
    bad_items = [
        ({**_imp(world, 3, "safe"), "advertiser": "nobody"}, "impressions.1.advertiser", 422),
        ({**_imp(world, 3, "safe"), "post": "no-such-post"}, "impressions.1.post", 422),
        ({**_imp(world, 3, "safe"), "profile": 424242}, "impressions.1.profile", 422),
        ({**_imp(world, 3, "safe"), "served_at": "yesterday"}, "impressions.1.served_at", 422),
        ({**_imp(world, 3, "safe"), "served_at": "2026-03-02T12:30:00"}, "impressions.1.served_at", 422),
        ({**_imp(world, 1, "hate")}, "impressions.1.id", 409),
        ({k: v for k, v in _imp(world, 3, "safe").items() if k != "ad"}, "impressions.1.ad", 422),
    ]
    for bad, field, status in bad_items:
        resp = world.ads.post(
            "/v1/brand-safety/impressions", json={"impressions": [_imp(world, 4, "news"), bad]}
        )
        assert resp.status_code == status, (field, resp.text)
        detail = resp.json()["detail"]
        assert (detail[0]["field"] if isinstance(detail, list) else detail["field"]) == field
    resp = world.ads.post(
        "/v1/brand-safety/impressions", json={"impressions": [_imp(world, 5, "safe")] * 5001}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["field"] == "impressions"
    rows = world.boss.get("/v1/brand-safety/reports/acme/export").json()["impressions"]
    assert sorted(r["impression"] for r in rows) == ["imp-acme-1", "imp-acme-2"]  # nothing else was stored


def test_a_profile_of_another_advertiser_is_refused_in_an_impression(world: World) -> None:
    theirs = world.profile(world.bob, "globex")
    resp = world.ads.post(
        "/v1/brand-safety/impressions", json={"impressions": [_imp(world, 1, "safe", profile=theirs)]}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"]["field"] == "impressions.0.profile"


def test_bad_report_ranges_name_the_field(world: World) -> None:
    resp = world.ann.get("/v1/brand-safety/reports/acme", params={"since": "last week"})
    assert resp.status_code == 422
    assert resp.json()["detail"]["field"] == "since"
    resp = world.ann.get(
        "/v1/brand-safety/reports/acme", params={"since": "2026-03-02", "until": "2026-03-01"}
    )
    assert resp.status_code == 422
    assert resp.json()["detail"]["field"] == "until"
    assert world.ann.get("/v1/brand-safety/reports/acme", params={"format": "xml"}).status_code == 422
