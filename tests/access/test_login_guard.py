"""Failed logins from one address are one aggregated event per window, not one event each."""

from __future__ import annotations

from tests.conftest import Clock
from tests.fixtures.staff import https_clients, log_in, person
from tests.fixtures.two_person import events, types
from townsquare.runtime import Runtime

ATTACKER, OTHER = "203.0.113.66", "198.51.100.7"


def test_failed_logins_from_one_address_are_one_event_with_a_count(rt: Runtime, clock: Clock) -> None:
    """Finding: every failed login was an event of its own (303 tries, 303 events)."""
    person(rt, "ada", ("moderator",))
    person(rt, "bob", ("moderator",))
    window = rt.settings.login_failure_window_s
    with https_clients(rt, ATTACKER, OTHER) as (attacker, other):
        for name in ("ada", "ada", "bob", "no-such-user", "correct horse"):
            assert log_in(attacker, name, "Summer2026!").status_code == 401
            clock.advance(seconds=2)
        assert log_in(other, "bob", "a wrong guess").status_code == 401
        assert events(rt, "login.failures") == []  # the windows are still open
        clock.advance(seconds=window)
        assert log_in(other, "ada").status_code == 200  # the next login closes the windows
        first = {e["subject"]["id"]: e["payload"] for e in events(rt, "login.failures")}
        assert set(first) == {ATTACKER, OTHER}
        assert first[ATTACKER] | {"window_start": None} == {
            "client": ATTACKER,
            "failures": 5,
            "throttled": 0,
            "usernames_tried": 4,
            "users": ["ada", "bob"],  # typed names that match no user are never written down
            "window_start": None,
            "window_s": window,
        }
        assert first[ATTACKER]["window_start"] == "2026-03-02T12:00:00.000000Z"
        assert (first[OTHER]["failures"], first[OTHER]["users"]) == (1, ["bob"])
        assert log_in(attacker, "ada", "again wrong").status_code == 401  # a new window opens
    assert len(events(rt, "login.failures")) == 3  # the last one was written as the service stopped
    assert "login.failed" not in types(rt, "login.")
    assert types(rt, "login.succeeded") == ["login.succeeded"]
    assert not any("correct horse" in str(e) or "no-such-user" in str(e) for e in events(rt, ""))
