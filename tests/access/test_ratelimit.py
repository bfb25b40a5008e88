"""The login limiter: the real client address, per-address and per-username limits, no lockout by anyone."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import Clock
from tests.fixtures.staff import PASSWORD, https_clients, log_in, person
from tests.fixtures.two_person import events
from townsquare.access.models import StaffUser
from townsquare.access.ratelimit import forwarded_client, parse_networks
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.runtime import Runtime, build_runtime

ATTACKER, OWNER, PROXY = "203.0.113.66", "198.51.100.7", "10.0.0.2"


def _failed_logins(rt: Runtime, username: str) -> int:
    with transaction(rt.sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        return user.failed_logins


def _retry_after(resp: Any) -> int:
    assert resp.status_code == 429, resp.text
    assert resp.json()["error"] == "rate_limited"
    return int(resp.headers["Retry-After"])


@pytest.mark.parametrize(
    ("peer", "header", "trusted", "client"),
    [
        ("127.0.0.1", ["6.6.6.6"], "", "127.0.0.1"),  # no proxy configured: the header is ignored
        ("203.0.113.5", ["6.6.6.6"], "10.0.0.0/8", "203.0.113.5"),  # the peer is not a trusted proxy
        ("10.0.0.2", ["6.6.6.6, 198.51.100.7"], "10.0.0.0/8", "198.51.100.7"),  # nearest untrusted hop
        ("10.0.0.2", ["6.6.6.6, 198.51.100.7, 10.0.0.9"], "10.0.0.0/8", "198.51.100.7"),  # two proxies
        ("10.0.0.2", ["6.6.6.6", "198.51.100.7"], "10.0.0.0/8", "198.51.100.7"),  # repeated headers
        ("10.0.0.2", ["not-an-ip, 198.51.100.7"], "10.0.0.0/8", "198.51.100.7"),
        ("10.0.0.2", ["198.51.100.7, garbage"], "10.0.0.0/8", "10.0.0.2"),  # garbage: the proxy
        ("10.0.0.2", [], "10.0.0.0/8", "10.0.0.2"),
        ("::1", ["2001:db8::7"], "::1", "2001:db8::7"),
    ],
)
def test_the_client_address_comes_from_x_forwarded_for_only_through_a_trusted_proxy(
    peer: str, header: list[str], trusted: str, client: str
) -> None:
    assert forwarded_client(peer, header, parse_networks(trusted)) == client


def test_a_bad_trusted_proxy_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not-a-network"):
        Settings(trusted_proxies="10.0.0.0/8, not-a-network")


def test_rotating_x_forwarded_for_is_no_bypass_and_events_record_the_real_peer(rt: Runtime) -> None:
    """Finding: X-Forwarded-For from 127.0.0.1 was trusted, so a new value each try was never limited."""
    person(rt, "ada", ("moderator",))
    limit = rt.settings.login_rate_per_minute
    with https_clients(rt, "127.0.0.1") as (c,):
        for n in range(limit):
            forged = {"X-Forwarded-For": f"192.0.2.{n + 1}"}
            r = c.post("/v1/auth/login", json={"username": f"who{n}", "password": "x"}, headers=forged)
            assert r.status_code == 401
        limited = c.post(
            "/v1/auth/login",
            json={"username": "ada", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.200"},
        )
        assert 1 <= _retry_after(limited) <= 60
    (failures,) = events(rt, "login.failures")  # written when the app stopped
    assert (failures["subject"]["id"], failures["payload"]["client"]) == ("127.0.0.1", "127.0.0.1")
    assert (failures["payload"]["failures"], failures["payload"]["throttled"]) == (limit, 1)


def test_a_configured_proxy_is_believed_and_each_client_behind_it_counts_alone(
    settings: Settings, clock: Clock
) -> None:
    rt = build_runtime(settings.model_copy(update={"trusted_proxies": "10.0.0.0/24"}), clock=clock)
    try:
        person(rt, "ada", ("moderator",))
        with https_clients(rt, PROXY) as (c,):
            for n in range(rt.settings.login_rate_per_minute):
                headers = {"X-Forwarded-For": f"6.6.6.6, {ATTACKER}"}
                assert log_in_via(c, f"who{n}", "x", headers).status_code == 401
            _retry_after(log_in_via(c, "anyone", "x", {"X-Forwarded-For": ATTACKER}))
            ok = log_in_via(c, "ada", PASSWORD, {"X-Forwarded-For": OWNER})  # another client: its own count
            assert ok.status_code == 200, ok.text
        succeeded = events(rt, "login.succeeded")[-1]
        assert succeeded["payload"]["client"] == OWNER
        assert [e["payload"]["client"] for e in events(rt, "login.failures")] == [ATTACKER]
    finally:
        rt.dispose()


def log_in_via(c: TestClient, username: str, password: str, headers: dict[str, str]) -> Any:
    """A JSON login with extra headers."""
    return c.post("/v1/auth/login", json={"username": username, "password": password}, headers=headers)


def test_spraying_usernames_from_one_address_gets_429(rt: Runtime, clock: Clock) -> None:
    """Finding: the limit was per address and username, so spraying usernames was unlimited."""
    person(rt, "ada", ("moderator",))
    limit = rt.settings.login_rate_per_minute
    with https_clients(rt, ATTACKER, OWNER) as (attacker, owner):
        statuses = [log_in(attacker, f"staff{n}", "Summer2026!").status_code for n in range(limit * 3)]
        assert statuses == [401] * limit + [429] * (limit * 2)
        _retry_after(log_in(attacker, "ada"))  # even the right password, from the spraying address
        assert log_in(owner, "ada").status_code == 200  # the owner's address is not the sprayer's
        clock.advance(seconds=61)
        assert log_in(attacker, "staff-late", "guess").status_code == 401


def test_five_wrong_tries_by_anyone_slow_the_username_down_for_a_second_not_lock_it(
    rt: Runtime, clock: Clock
) -> None:
    """Finding: anyone could lock demo-admin out for 15 minutes with five wrong passwords."""
    person(rt, "demo-admin", ("admin",))
    free = rt.settings.login_slowdown_after
    with https_clients(rt, ATTACKER, OWNER) as (attacker, owner):
        for _ in range(free):
            assert log_in(attacker, "demo-admin", "wrong password, try again").status_code == 401
        assert _failed_logins(rt, "demo-admin") == free
        assert _retry_after(log_in(owner, "demo-admin")) == 1  # a short, bounded slowdown
        clock.advance(seconds=1)
        ok = log_in(owner, "demo-admin")
        assert ok.status_code == 200, ok.text
    assert _failed_logins(rt, "demo-admin") == 0
    bodies = [str(e) for e in events(rt, "")]
    assert not any("user.locked" in b for b in bodies)
    assert not any("wrong password, try again" in b or PASSWORD in b for b in bodies)


def test_a_username_under_attack_waits_longer_each_time_up_to_the_cap(rt: Runtime, clock: Clock) -> None:
    person(rt, "ada", ("moderator",))
    free, cap = rt.settings.login_slowdown_after, rt.settings.login_max_delay_s
    addresses = [f"192.0.2.{n}" for n in range(1, 21)]  # a botnet: each address tries once or twice
    with https_clients(rt, *addresses, OWNER) as clients:
        *bots, owner = clients
        for bot in bots[:free]:
            assert log_in(bot, "ada", "guess").status_code == 401
        waits = []
        for bot in bots[free:]:
            wait = _retry_after(log_in(bot, "ada", "guess"))  # the try is refused unchecked
            waits.append(wait)
            clock.advance(seconds=wait)
            assert log_in(bot, "ada", "guess").status_code == 401
        assert waits[:6] == [1, 2, 4, 8, 16, 30]
        assert set(waits[6:]) == {int(cap)}
        assert _retry_after(log_in(owner, "ada")) <= cap  # the owner waits, never more than the cap
        clock.advance(seconds=cap)
        assert log_in(owner, "ada").status_code == 200
        assert log_in(bots[0], "ada", "guess").status_code == 401  # a success starts the count again


def test_an_unknown_username_is_throttled_like_a_real_one(rt: Runtime) -> None:
    """The slowdown must not tell an attacker which usernames exist."""
    person(rt, "ada", ("moderator",))
    free = rt.settings.login_slowdown_after
    answers: dict[str, list[int]] = {}
    with https_clients(rt, *(f"192.0.2.{n}" for n in range(1, 2 * free + 3))) as clients:
        for name, group in (("ada", clients[: free + 1]), ("nobody", clients[free + 1 :])):
            answers[name] = [log_in(c, name, "guess").status_code for c in group]
    assert answers["ada"] == answers["nobody"] == [401] * free + [429]


def test_the_service_runs_uvicorn_without_its_own_proxy_header_handling(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default; Townsquare turns that off."""
    from townsquare.cli import serve

    seen: dict[str, Any] = {}
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **kw: seen.update(kw))
    monkeypatch.setattr(serve, "configure_logging", lambda level: {})  # leave the test's logging alone
    serve._run(rt, "127.0.0.1", 8999)
    assert seen["proxy_headers"] is False
