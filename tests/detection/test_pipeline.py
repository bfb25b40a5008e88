"""The trained models as signals in the ingest → decide → enforce path."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.fixtures import factories


def _post(client: TestClient, text: str, **over: Any) -> dict[str, Any]:
    author = factories.account()
    assert client.post("/v1/accounts", json=author).status_code == 201
    body = factories.post(author["platform_id"], text, **over)
    resp = client.post("/v1/posts", json=body)
    assert resp.status_code == 201, resp.text
    got = client.get(f"/v1/posts/{body['platform_id']}")
    assert got.status_code == 200
    return got.json()


def _signal(post: dict[str, Any], scorer: str) -> dict[str, Any] | None:
    return next((s for s in post["signals"] if s["scorer"] == scorer), None)


def test_every_post_carries_each_model_score_with_its_version(models_client: TestClient) -> None:
    post = _post(models_client, "Muslims are vermin and should all be thrown out of this country")
    for name in ("hate", "abuse", "threat", "misinformation", "scam", "spam"):
        sig = _signal(post, f"model.{name}")
        assert sig is not None, name
        assert "+" in sig["scorer_version"]  # version + artifact checksum
    hate = _signal(post, "model.hate")
    assert hate is not None
    assert hate["label"] == "flagged"
    assert any(e.get("kind") == "phrase" for e in hate["evidence"])
    assert any(e.get("target") == "religion" for e in hate["evidence"])
    verdict = post["verdicts"][0]
    assert verdict["outcome"] in ("review", "action")
    assert verdict["policy"] == "hate_speech"


def test_a_repeated_false_claim_becomes_a_claims_signal(models_client: TestClient) -> None:
    post = _post(
        models_client,
        "PSA they handed me a Sharpie marker at the polls: ballots filled out with Sharpie are cancelled "
        "because the ink bleeds through and the machines cannot read them",
    )
    sig = _signal(post, "claims.election")
    assert sig is not None
    assert sig["policy"] == "election_misinformation"
    assert sig["evidence"][0]["source"].startswith("https://")


def test_a_post_without_a_language_gets_one_detected(models_client: TestClient) -> None:
    post = _post(
        models_client, "Ich glaube, das ist eine sehr gute Idee für uns alle in der Stadt", language=None
    )
    assert post["language"] == "de"
    assert post["versions"][0]["language"] == "de"


def test_non_english_posts_are_never_actioned_automatically(models_client: TestClient) -> None:
    post = _post(models_client, "send 1 btc get 2 back ahora mismo amigos", language="es")
    assert post["verdicts"][0]["outcome"] != "action"
    assert post["actions"] == []


def test_a_batch_is_scored_together(models_client: TestClient) -> None:
    author = factories.account()
    models_client.post("/v1/accounts", json=author)
    posts = [
        factories.post(author["platform_id"], t)
        for t in (
            "What a lovely morning",
            "You people are subhuman filth",
            "Win a free iPhone, click bit.ly/x",
        )
    ]
    resp = models_client.post("/v1/posts/batch", json={"posts": posts})
    assert resp.status_code == 200, resp.text
    for p in posts:
        got = models_client.get(f"/v1/posts/{p['platform_id']}").json()
        assert _signal(got, "model.hate") is not None


def test_the_model_versions_in_use_are_an_event_and_a_change_alerts_auditors(models_rt: Any) -> None:
    from sqlalchemy import select

    from townsquare.access.models import Alert
    from townsquare.db import transaction
    from townsquare.eventlog.events import Event
    from townsquare.policy.service import sync_versions

    def model_events(session: Any) -> list[Any]:
        return list(session.scalars(select(Event).where(Event.type == "models.set_active")))

    with transaction(models_rt.sessions) as session:
        sync_versions(session, models_rt)
    with transaction(models_rt.sessions) as session:
        sync_versions(session, models_rt)  # same models: nothing new
        assert len(model_events(session)) == 1
    real = models_rt.classifier.versions
    models_rt.classifier.versions = lambda: {**real(), "hate": "9.9+000000000000"}
    try:
        with transaction(models_rt.sessions) as session:
            sync_versions(session, models_rt)
        with transaction(models_rt.sessions) as session:  # events are written when the transaction ends
            assert len(model_events(session)) == 2
            alerts = list(session.scalars(select(Alert).where(Alert.kind == "models_changed")))
            assert len(alerts) == 1
            assert alerts[0].recipient_role == "auditor"
    finally:
        models_rt.classifier.versions = real


def test_harassment_reads_abuse_aimed_at_a_person_not_profanity_in_the_air(models_client: TestClient) -> None:
    aimed = _post(
        models_client, "@dave you are a worthless pathetic idiot, nobody wants you here, just leave"
    )
    air = _post(models_client, "ugh this damn traffic is shit, stuck on the bridge for an hour again")
    aimed_sig, air_sig = _signal(aimed, "model.harassment"), _signal(air, "model.harassment")
    assert aimed_sig is not None
    assert air_sig is not None
    abuse = _signal(aimed, "model.abuse")
    assert abuse is not None
    # Harassment is abuse times P(aimed at an individual): never above abuse itself.
    assert aimed_sig["score"] <= abuse["score"] + 1e-9
    assert aimed_sig["score"] > air_sig["score"]
    assert aimed_sig["score"] >= 0.5  # the live harassment policy's review threshold
    assert air_sig["score"] < 0.5
