"""POST /v1/classify: the public scoring contract over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.content import assert_error
from townsquare.app import create_app
from townsquare.runtime import Runtime

SCORERS = {"hate", "abuse", "threat", "misinformation", "scam", "spam"}
KEYS = {"probability", "flagged", "threshold", "auto_threshold", "evidence", "version", "tier"}


def _check_contract(result: dict[str, Any]) -> None:
    assert set(result["scores"]) == SCORERS
    for name, score in result["scores"].items():
        assert KEYS <= set(score), name
        assert 0.0 <= score["probability"] <= 1.0
        assert score["flagged"] == (
            score["probability"] >= score["threshold"] or (name == "misinformation" and bool(score["claims"]))
        )
    assert "target" in result["scores"]["hate"]
    assert result["scores"]["abuse"]["targeted"] in ("none", "individual", "group")
    assert isinstance(result["scores"]["misinformation"]["claims"], list)


def test_one_text_gets_every_score(models_client: TestClient) -> None:
    resp = models_client.post("/v1/classify", json={"text": "Muslims are vermin and should all be deported"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    [result] = body["results"]
    _check_contract(result)
    hate = result["scores"]["hate"]
    assert hate["flagged"]
    assert hate["target"] == "religion"
    assert any(e["kind"] == "phrase" for e in hate["evidence"])
    assert set(body["versions"]) >= SCORERS | {"claims"}


def test_many_texts_keep_their_ids_and_order(models_client: TestClient) -> None:
    items = [
        {"id": "a", "text": "Congratulations! You won a $1000 gift card. Claim now at bit.ly/fr33-prize"},
        {
            "id": 7,
            "text": "wake up: coronavirus is spread by 5G mobile networks, outbreaks follow each 5G tower",
        },
        {"id": "c", "text": "Hola amigos, ¿cómo están todos hoy? Vamos a la playa mañana por la tarde"},
        {"id": "d", "text": "Thanks for the lovely dinner last night, see you all at the weekend"},
    ]
    resp = models_client.post("/v1/classify", json={"items": items})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["id"] for r in results] == ["a", 7, "c", "d"]
    for r in results:
        _check_contract(r)
    assert results[0]["scores"]["scam"]["flagged"] or results[0]["scores"]["spam"]["flagged"]
    claims = results[1]["scores"]["misinformation"]["claims"]
    assert results[1]["scores"]["misinformation"]["flagged"]
    assert claims
    assert claims[0]["source"].startswith("https://")
    assert claims[0]["verdict"] == "false"
    assert results[2]["language"] == "es"
    assert not any(s["flagged"] for s in results[3]["scores"].values())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "x", "items": [{"text": "y"}]}, None),
        ({}, None),
        ({"text": "   "}, "text"),
        ({"items": []}, "items"),
        ({"items": [{"text": "ok", "colour": "red"}]}, "colour"),
        ({"text": "hello", "language": "English"}, "language"),
    ],
)
def test_bad_requests_name_the_field(
    models_client: TestClient, body: dict[str, Any], field: str | None
) -> None:
    assert_error(models_client.post("/v1/classify", json=body), 422, field)


def test_limits_are_enforced(models_client: TestClient, models_rt: Runtime) -> None:
    too_many = {"items": [{"text": "hi"}] * (models_rt.settings.max_batch + 1)}
    assert_error(models_client.post("/v1/classify", json=too_many), 422, "items")
    too_long = {"items": [{"text": "a" * (models_rt.settings.max_text_chars + 1)}]}
    assert_error(models_client.post("/v1/classify", json=too_long), 422, "items.0.text")


def test_a_role_without_classify_is_refused(models_rt: Runtime) -> None:
    token = seed_user(models_rt, "triage-1", ["triage"])
    app = create_app(runtime=models_rt, keep_chain=False)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as c:
        assert_error(c.post("/v1/classify", json={"text": "hello"}), 403)
    platform = seed_user(models_rt, "platform-1", ["platform"])
    with TestClient(app, headers={"Authorization": f"Bearer {platform}"}) as c:
        assert c.post("/v1/classify", json={"text": "hello"}).status_code == 200


def test_models_turned_off_answer_503(client: TestClient) -> None:
    body = assert_error(client.post("/v1/classify", json={"text": "hello"}), 503)
    assert "TOWNSQUARE_MODELS_ENABLED" in body["message"]
