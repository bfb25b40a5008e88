"""Ban evasion in the platform: a ban keeps a fingerprint; a look-alike new account opens a case."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Clock
from tests.fixtures import factories as f
from townsquare.bans.models import AccountHash, BanFingerprint
from townsquare.bans.service import purge
from townsquare.db import transaction
from townsquare.runtime import Runtime

DEVICE = "dev-7f3a9c2e11"


def _account(client: TestClient, **over: object) -> str:
    data = f.account(**over)
    assert client.post("/v1/accounts", json=data).status_code == 201, data
    return str(data["platform_id"])


def test_a_banned_users_new_account_opens_a_case_with_the_evidence(client: TestClient, rt: Runtime) -> None:
    old = _account(
        client,
        handle="john_smith88",
        display_name="John Smith",
        links=["https://johnsblog.example/about"],
        device_hashes=[DEVICE],
    )
    for text in (
        "We need to talk about the council's new parking rules.",
        "Honestly the parking rules are a joke.",
    ):
        client.post("/v1/posts", json=f.post(old, text))
    ban = client.post(
        "/v1/actions", json={"action": "ban", "policy": "spam", "account": old, "reason": "spam ring"}
    )
    assert ban.status_code == 201, ban.text
    with transaction(rt.sessions) as session:
        fp = session.scalars(select(BanFingerprint)).one()
        assert fp.device_hashes == [DEVICE]
        assert "parking" not in str(fp.data)  # no raw post text is kept
    new = _account(
        client,
        handle="j0hn_smith",
        display_name="John S",
        links=["https://johnsblog.example/about"],
        device_hashes=[DEVICE],
    )
    cases = client.get("/v1/queues/ban_evasion/cases").json()
    assert [c["subject"] for c in cases] == [new]
    case = client.get(f"/v1/cases/{cases[0]['id']}").json()
    details = case["details"]
    assert details["banned_account"] == old
    assert details["components"]["device"] == 1.0
    assert {e["component"] for e in details["evidence"]} >= {"name", "links", "device"}
    stranger = _account(client, handle="gardening_gran", display_name="Ruth")
    assert stranger not in [c["subject"] for c in client.get("/v1/queues/ban_evasion/cases").json()]


def test_device_hashes_are_dropped_after_the_retention_period(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    acct = _account(client, device_hashes=[DEVICE], ip_hashes=["ip-0a1b2c3d4e"])
    assert (
        client.post(
            "/v1/actions", json={"action": "ban", "policy": "spam", "account": acct, "reason": "x"}
        ).status_code
        == 201
    )
    clock.advance(days=rt.settings.fingerprint_retention_days + 1)
    with transaction(rt.sessions) as session:
        assert purge(session, rt) >= 2
    with transaction(rt.sessions) as session:
        assert session.scalars(select(AccountHash)).all() == []
        fp = session.scalars(select(BanFingerprint)).one()
        assert (fp.device_hashes, fp.ip_hashes, fp.hashes_until) == ([], [], None)


def test_malformed_hashes_are_refused(client: TestClient) -> None:
    resp = client.post("/v1/accounts", json=f.account(device_hashes=["no spaces allowed"]))
    assert resp.status_code == 422
    assert "device_hashes" in resp.text


def test_after_the_purge_a_shared_device_no_longer_matches(
    client: TestClient, rt: Runtime, clock: Clock
) -> None:
    banned = _account(client, handle="quiet_fox", display_name="Quiet Fox", device_hashes=[DEVICE])
    ban = client.post(
        "/v1/actions", json={"action": "ban", "policy": "spam", "account": banned, "reason": "x"}
    )
    assert ban.status_code == 201
    first = _account(client, handle="maple_tree_41", display_name="Maple", device_hashes=[DEVICE])
    assert first in [c["subject"] for c in client.get("/v1/queues/ban_evasion/cases").json()]
    clock.advance(days=rt.settings.fingerprint_retention_days + 1)
    with transaction(rt.sessions) as session:
        purge(session, rt)
    # The matcher built before the purge must not be reused: the device hash is gone from the fingerprint.
    later = _account(client, handle="river_stone_7", display_name="Stone", device_hashes=[DEVICE])
    assert later not in [c["subject"] for c in client.get("/v1/queues/ban_evasion/cases").json()]
