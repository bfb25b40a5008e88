"""Insider-risk alerts: peers' robust z-scores, minimum counts, conflicts of interest, de-duplication."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import Result

from tests.conftest import Clock, seed_user
from tests.fixtures import audit_events as ae
from tests.fixtures import factories
from townsquare.access import insider
from townsquare.access.models import Alert, StaffAccountLink, StaffUser
from townsquare.content.models import Account
from townsquare.db import transaction
from townsquare.eventlog.events import Event
from townsquare.runtime import Runtime


def _findings(rt: Runtime) -> list[insider.InsiderAlert]:
    with transaction(rt.sessions) as session:
        return insider.evaluate(session, rt)


def _peers(rt: Runtime, counts: list[int]) -> None:
    for n, count in enumerate(counts):
        ae.actions(rt, f"user:peer{n}", count)


def test_a_moderator_with_ten_times_the_peers_volume_is_flagged(rt: Runtime) -> None:
    _peers(rt, [4, 5, 5, 6, 5])
    ae.actions(rt, "user:busy", 50)
    found = _findings(rt)
    assert [(f.rule, f.actor) for f in found] == [("volume", "user:busy")]
    metrics = found[0].metrics
    assert metrics["value"] == 50
    assert metrics["median"] == 5
    assert metrics["peers"] == 5
    assert metrics["z"] > 3.5
    assert len(found[0].event_ids) == 50


def test_a_moderator_reversed_far_more_often_than_peers_is_flagged(rt: Runtime) -> None:
    for n in range(5):
        puids = ae.actions(rt, f"user:peer{n}", 10)
        if n < 2:
            ae.reverse(rt, "user:senior", puids[:1])  # 10% for two peers, none for the rest
    mine = ae.actions(rt, "user:sloppy", 10)
    ae.reverse(rt, "user:senior", mine[:6])
    ae.reverse(rt, "user:sloppy", mine[6:8])  # undoing one's own action is not counted
    found = _findings(rt)
    assert [(f.rule, f.actor) for f in found] == [("reversal_rate", "user:sloppy")]
    assert found[0].metrics["value"] == 0.6
    assert found[0].metrics["median"] == 0.0
    assert len(found[0].event_ids) == 6


def test_a_team_of_two_peers_produces_no_statistical_alerts(rt: Runtime) -> None:
    _peers(rt, [5, 5])
    ae.actions(rt, "user:busy", 50, protected=True)
    assert _findings(rt) == []


def test_actions_outside_the_window_and_by_policies_are_ignored(rt: Runtime, clock: Clock) -> None:
    _peers(rt, [5, 5, 5, 5])
    ae.actions(rt, "user:old", 50)
    ae.actions(rt, "policy:spam@1", 500)
    clock.advance(days=8)
    _peers(rt, [5, 5, 5, 5])
    assert _findings(rt) == []


def _link(rt: Runtime, username: str, platform_id: str) -> None:
    with transaction(rt.sessions) as session:
        user_id = session.scalar(select(StaffUser.id).where(StaffUser.username == username))
        account_id = session.scalar(select(Account.id).where(Account.platform_id == platform_id))
        assert user_id is not None
        assert account_id is not None
        session.add(
            StaffAccountLink(user_id=user_id, account_id=account_id, linked_by="test", linked_at=rt.now())
        )


def test_acting_on_an_account_the_actors_own_account_dealt_with_is_always_flagged(
    client: TestClient, rt: Runtime
) -> None:
    own, replied, reported, stranger = (factories.account() for _ in range(4))
    for acct in (own, replied, reported, stranger):
        assert client.post("/v1/accounts", json=acct).status_code == 201
    theirs = factories.post(replied["platform_id"])
    assert client.post("/v1/posts", json=theirs).status_code == 201
    reply = factories.post(own["platform_id"], reply_to=theirs["platform_id"])
    assert client.post("/v1/posts", json=reply).status_code == 201
    report = factories.report(reported["platform_id"], subject_type="account", reporter=own["platform_id"])
    assert client.post("/v1/reports", json=report).status_code == 201
    seed_user(rt, "mod", ["moderator"])
    _link(rt, "mod", own["platform_id"])
    ae.actions(rt, "user:mod", 1, subject=("post", theirs["platform_id"]))
    ae.actions(rt, "user:mod", 1, subject=("account", reported["platform_id"]))
    ae.actions(rt, "user:mod", 1, subject=("account", stranger["platform_id"]))
    found = _findings(rt)
    assert [(f.rule, f.actor) for f in found] == [("interaction", "user:mod")] * 2
    assert [(f.metrics["target_account"], f.metrics["relations"]) for f in found] == [
        (replied["platform_id"], ["replied_to"]),
        (reported["platform_id"], ["reported"]),
    ]


def test_alerts_are_not_raised_twice_in_one_window(client: TestClient, rt: Runtime, clock: Clock) -> None:
    _peers(rt, [4, 5, 5, 6])
    ae.actions(rt, "user:busy", 50)
    first = client.post("/v1/audit/insider").json()
    clock.advance(hours=2)
    second = client.post("/v1/audit/insider").json()
    assert [a["rule"] for a in first["new_alerts"]] == ["volume"]
    assert len(second["findings"]) == 1
    assert second["new_alerts"] == []
    listed = client.get("/v1/audit/insider").json()
    assert [a["actor"] for a in listed["open_alerts"]] == ["user:busy"]
    with transaction(rt.sessions) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.kind, alert.recipient_role, alert.subject) == ("insider_risk", "auditor", "user:busy")
        raised = session.scalar(select(func.count(Event.id)).where(Event.type == "alert.raised"))
        assert raised == 1


def test_cli_audit_alerts_raises_and_lists_alerts(
    cli: Callable[..., Result], rt: Runtime, clock: Clock
) -> None:
    clock.now = datetime.now(UTC)  # the CLI runs on the real clock
    _peers(rt, [4, 5, 5, 6])
    ae.actions(rt, "user:busy", 50)
    dry = cli("audit", "alerts", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 finding(s); nothing recorded" in dry.output
    first = cli("audit", "alerts")
    assert first.exit_code == 0, first.output
    assert "user:busy" in first.output
    assert "1 new alert(s), 1 open" in first.output
    again = cli("audit", "alerts")
    assert "0 new alert(s), 1 open" in again.output
