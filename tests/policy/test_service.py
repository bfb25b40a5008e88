"""Policy versions in the database: recorded on startup, immutable, published, shadowed and backtested."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import Clock, seed_admin, seed_user
from tests.fixtures import factories
from townsquare.access import approvals
from townsquare.access.roles import ROLES
from townsquare.access.service import Principal
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.errors import Conflict, NotFound
from townsquare.eventlog.events import Event, body_of
from townsquare.pipeline.refresh import refresh_states
from townsquare.pipeline.score import score
from townsquare.policy import publishing, service
from townsquare.policy.loader import PolicyError
from townsquare.policy.models import PolicyVersionRecord
from townsquare.runtime import Runtime, build_runtime

ROOT = Path(__file__).resolve().parents[2]
SCAM = "Send 0.1 BTC and get 1 BTC back, limited time!"
# One hate-speech text-bank hit at 0.5: below v1's review threshold (0.6), at v2's (0.5).
BORDERLINE_HATE = "They are subhuman."


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(ROOT / name, target)
    return target


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _events(rt: Runtime, type_: str) -> list[dict[str, Any]]:
    with transaction(rt.sessions) as session:
        return [body_of(e) for e in session.scalars(select(Event).where(Event.type == type_))]


def _author(client: TestClient) -> str:
    data = factories.account()
    assert client.post("/v1/accounts", json=data).status_code == 201
    return str(data["platform_id"])


def _publish_with_two_people(rt: Runtime, area: str, version: int, state: str = "live") -> None:
    """Publish through the two-person rule: publisher1 requests, publisher2 approves."""
    for name in ("publisher1", "publisher2"):
        seed_user(rt, name, ["policy_publisher"])
    perms = ROLES["policy_publisher"]
    with transaction(rt.sessions) as session:
        service.sync_versions(session, rt)
        requester = Principal(actor="user:publisher1", permissions=perms)
        approval_id = publishing.request_publish(session, rt, requester, area, version, state, "measured").id
    with transaction(rt.sessions) as session:
        approver = Principal(actor="user:publisher2", permissions=perms)
        assert approvals.decide(session, rt, approver, approval_id, True, "agreed").status == "approved"


def test_startup_records_every_policy_and_text_bank_version_once(rt: Runtime) -> None:
    create_app(runtime=rt, keep_chain=False)
    policies = [(a, s.version) for a in rt.policies.areas() for s in rt.policies.versions(a)]
    with transaction(rt.sessions) as session:
        rows = session.execute(
            select(PolicyVersionRecord.kind, func.count()).group_by(PolicyVersionRecord.kind)
        ).all()
    assert dict(rows) == {"policy": len(policies), "textbank": len(rt.scorers)}
    recorded = {e["subject"]["id"] for e in _events(rt, "policy.version_recorded")}
    assert recorded == {f"{a}@{v}" for a, v in policies}
    assert len(_events(rt, "textbank.version_recorded")) == len(rt.scorers)

    create_app(runtime=rt, keep_chain=False)  # a restart records nothing new
    assert len(_events(rt, "policy.version_recorded")) == len(policies)


@pytest.mark.parametrize(
    ("folder", "file", "change", "message"),
    [
        (
            "policies",
            "hate_speech.yaml",
            lambda d: d["versions"][0].update(definition=d["versions"][0]["definition"] + " Edited."),
            "policy hate_speech version 1 changed after it was recorded",
        ),
        (
            "textbanks",
            "spam.yaml",
            lambda d: d["terms"].append({"term": "quietly added phrase", "weight": 0.5}),
            r"textbank spam version \d+ changed after it was recorded",
        ),
    ],
)
def test_editing_a_recorded_version_is_refused(
    rt: Runtime,
    settings: Settings,
    tmp_path: Path,
    folder: str,
    file: str,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    create_app(runtime=rt, keep_chain=False)
    edited = _copy(tmp_path, folder)
    _edit(edited / file, change)
    other = build_runtime(settings.model_copy(update={f"{folder}_dir": edited}))
    try:
        with pytest.raises(Conflict, match=message) as info:
            create_app(runtime=other, keep_chain=False)
        assert "publish it as a new version" in info.value.message
    finally:
        other.dispose()


def test_auto_threshold_below_the_scorers_validation_is_refused_on_load(
    settings: Settings, tmp_path: Path
) -> None:
    policies = _copy(tmp_path, "policies")
    # textbank.scams_fraud is validated at 0.95; a policy may be stricter, never laxer.
    _edit(policies / "scams_fraud.yaml", lambda d: d["versions"][-1]["signals"][0].update(auto_threshold=0.9))
    with pytest.raises(PolicyError) as info:
        build_runtime(settings.model_copy(update={"policies_dir": policies}))
    assert info.value.field == "signals[0].auto_threshold"
    assert info.value.version == 3
    assert "scams_fraud.yaml" in str(info.value)
    assert "validated auto_threshold 0.95" in str(info.value)


def test_an_election_period_makes_election_misinformation_stricter(client: TestClient, clock: Clock) -> None:
    author = _author(client)

    def review_threshold() -> tuple[float, list[str]]:
        body = factories.post(author, "Good news: you can vote by text this year.")
        assert client.post("/v1/posts", json=body).json()["decision"]["outcome"] == "review"
        verdict = client.get(f"/v1/posts/{body['platform_id']}").json()["verdicts"][0]
        ev = next(e for e in verdict["details"]["evaluations"] if e["area"] == "election_misinformation")
        return ev["review_threshold"], ev["reasons"]

    outside, outside_reasons = review_threshold()  # 2 March 2026: no period in elections.yaml
    clock.now = datetime(2026, 4, 20, 12, tzinfo=UTC)  # Scottish and Welsh elections 2026
    inside, inside_reasons = review_threshold()
    assert outside == 0.5
    assert inside == pytest.approx(0.35)  # review_multiplier 0.7
    assert "election_period:stricter" in inside_reasons
    assert "election_period:stricter" not in outside_reasons


def test_shadow_verdicts_are_recorded_only_where_the_shadow_version_evaluates(client: TestClient) -> None:
    author = _author(client)
    hate = factories.post(author, BORDERLINE_HATE)
    scam = factories.post(author, SCAM)
    for body in (hate, scam):
        assert client.post("/v1/posts", json=body).status_code == 201

    post = client.get(f"/v1/posts/{hate['platform_id']}").json()
    modes = {v["mode"]: v for v in post["verdicts"]}
    assert modes["live"]["outcome"] == "no_violation"
    assert (modes["shadow"]["outcome"], modes["shadow"]["policy_version"]) == ("review", 2)
    assert post["status"] == "visible"
    # hate_speech is the only area with a shadow version; a scam post gets no shadow verdict.
    scam_verdicts = client.get(f"/v1/posts/{scam['platform_id']}").json()["verdicts"]
    assert [v["mode"] for v in scam_verdicts] == ["live"]


def test_a_shadow_version_that_would_act_is_never_enforced(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    policies = _copy(tmp_path, "policies")

    def shadow_v2(data: dict[str, Any]) -> None:
        live = data["versions"][-1]
        shadow = {**live, "version": live["version"] + 1, "state": "shadow", "automation": {"enabled": True}}
        live["automation"] = {"enabled": False}
        data["versions"].append(shadow)

    _edit(policies / "scams_fraud.yaml", shadow_v2)
    rt = build_runtime(settings.model_copy(update={"policies_dir": policies}), clock=clock)
    try:
        with TestClient(create_app(runtime=rt, keep_chain=False)) as c:
            c.headers["Authorization"] = f"Bearer {seed_admin(rt)}"
            author = _author(c)
            body = factories.post(author, SCAM)
            decision = c.post("/v1/posts", json=body).json()["decision"]
            post = c.get(f"/v1/posts/{body['platform_id']}").json()
            account = c.get(f"/v1/accounts/{author}").json()
    finally:
        rt.dispose()
    assert (decision["outcome"], decision["action_id"]) == ("review", None)
    shadow = next(v for v in post["verdicts"] if v["mode"] == "shadow")
    assert (shadow["outcome"], shadow["action"], shadow["policy_version"]) == ("action", "remove", 4)
    assert post["status"] == "visible"
    assert post["actions"] == []
    assert account["active_strikes"] == []


def test_published_states_survive_a_restart(rt: Runtime, settings: Settings) -> None:
    create_app(runtime=rt, keep_chain=False)
    _publish_with_two_people(rt, "hate_speech", 2)
    restarted = build_runtime(settings)
    try:
        create_app(runtime=restarted, keep_chain=False)
        live, shadow = restarted.policies.live("hate_speech"), restarted.policies.shadow("hate_speech")
        assert live is not None
        assert live.version == 2
        assert shadow is None
        assert restarted.policies.version("hate_speech", 1).state == "retired"
    finally:
        restarted.dispose()


def test_backtest_counts_what_a_version_would_change(client: TestClient, rt: Runtime) -> None:
    author = _author(client)
    texts = [BORDERLINE_HATE, "Immigrants are vermin.", "Lovely weather at the lake today.", SCAM]
    bodies = [factories.post(author, t) for t in texts]
    for body in bodies:
        assert client.post("/v1/posts", json=body).status_code == 201
    with transaction(rt.sessions) as session:
        result = service.backtest(session, rt, "hate_speech", 2, score)
    assert result.posts == 4
    assert result.live == {"no_violation": 3, "review:remove": 1}
    assert result.candidate == {"no_violation": 2, "review:remove": 2}
    assert result.changed == 1
    assert result.samples == [
        {
            "post": bodies[0]["platform_id"],
            "live": "no_violation",
            "candidate": "review:remove",
            "text": BORDERLINE_HATE,
        }
    ]
    with transaction(rt.sessions) as session, pytest.raises(NotFound, match="no version 7"):
        service.backtest(session, rt, "hate_speech", 7, score)


def test_refresh_applies_states_published_by_another_process(rt: Runtime, settings: Settings) -> None:
    create_app(runtime=rt, keep_chain=False)
    other = build_runtime(settings)  # e.g. `townsquare policy publish` while the service runs
    try:
        _publish_with_two_people(other, "hate_speech", 2)
    finally:
        other.dispose()
    live = rt.policies.live("hate_speech")
    assert live is not None
    assert live.version == 4
    with transaction(rt.sessions) as session:
        assert refresh_states(session, rt) is True
        assert refresh_states(session, rt) is False
    live = rt.policies.live("hate_speech")
    assert live is not None
    assert live.version == 2


def test_a_new_version_added_to_a_file_as_live_is_held_until_published_by_two_people(
    rt: Runtime, settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    create_app(runtime=rt, keep_chain=False)  # records hate_speech v1 and v3 retired, v2 shadow, v4 live
    policies = _copy(tmp_path, "policies")

    def add_v5(data: dict[str, Any]) -> None:
        for v in data["versions"]:
            v["state"] = "retired"
        v2 = data["versions"][1]
        data["versions"].append({**v2, "version": 5, "state": "live", "notes": "v2 promoted as v5"})

    _edit(policies / "hate_speech.yaml", add_v5)
    restarted = build_runtime(settings.model_copy(update={"policies_dir": policies}), clock=clock)
    try:
        with TestClient(create_app(runtime=restarted, keep_chain=False)) as c:
            c.headers["Authorization"] = f"Bearer {seed_admin(restarted)}"

            def states() -> dict[int, str]:
                rows = c.get("/v1/policies").json()
                return {v["version"]: v["state"] for v in rows if v["area"] == "hate_speech"}

            def decide() -> dict[str, Any]:
                body = factories.post(_author(c), BORDERLINE_HATE)
                decision: dict[str, Any] = c.post("/v1/posts", json=body).json()["decision"]
                return decision

            # The database keeps the states it knows; the file's "live" v5 is held as a draft.
            assert states() == {1: "retired", 2: "shadow", 3: "retired", 4: "live", 5: "draft"}
            assert decide()["outcome"] == "no_violation"  # v4 still decides
            _publish_with_two_people(restarted, "hate_speech", 5)
            assert states() == {1: "retired", 2: "shadow", 3: "retired", 4: "retired", 5: "live"}
            decision = decide()
    finally:
        restarted.dispose()
    assert (decision["policy"], decision["policy_version"]) == ("hate_speech", 5)
    held = _events(restarted, "policy.version_held")
    assert [(e["subject"]["id"], e["payload"]["file_state"]) for e in held] == [("hate_speech@5", "live")]
    published = _events(restarted, "policy.published")
    assert [(e["subject"]["id"], e["payload"]["to"], e["payload"]["approved_by"]) for e in published] == [
        ("hate_speech@5", "live", "user:publisher2")
    ]


def test_backtest_judges_each_post_in_its_authors_context(client: TestClient, rt: Runtime) -> None:
    author = _author(client)
    for n in range(2):  # two confirmed hate-speech strikes: the ladder now proposes a suspension
        body = factories.post(author, f"Ordinary post {n}")
        client.post("/v1/posts", json=body)
        r = client.post(
            "/v1/actions",
            json={"action": "remove", "policy": "hate_speech", "post": body["platform_id"], "reason": "slur"},
        )
        assert r.status_code == 201, r.text
    body = factories.post(author, "Immigrants are vermin.")
    assert client.post("/v1/posts", json=body).json()["decision"]["proposed_action"] == "suspend"
    with transaction(rt.sessions) as session:
        result = service.backtest(session, rt, "hate_speech", 2, score)
    assert result.live["review:suspend"] == 1
    assert result.candidate["review:suspend"] == 1
