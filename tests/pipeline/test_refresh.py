"""refresh_states reloads policy states and pauses only when the `decision` change stamp moved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import event, text

from tests.conftest import Clock
from townsquare.config import Settings
from townsquare.db import transaction
from townsquare.pipeline.refresh import refresh_states
from townsquare.policy.service import sync_versions
from townsquare.review.models import AutomationPause
from townsquare.runtime import Runtime, build_runtime


@pytest.fixture
def other(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    """A second runtime on the same database: another process, with its own engine and connections."""
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.dispose()


@pytest.fixture
def synced(rt: Runtime) -> Runtime:
    """The runtime with its policy versions recorded and its state loaded once."""
    with transaction(rt.sessions) as session:
        sync_versions(session, rt)
    with transaction(rt.sessions) as session:
        refresh_states(session, rt)
    return rt


def _statements(rt: Runtime) -> tuple[list[str], object]:
    seen: list[str] = []

    def listen(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(rt.engine, "before_cursor_execute", listen)
    return seen, listen


def test_nothing_is_reloaded_while_the_stamp_stands(synced: Runtime) -> None:
    seen, listen = _statements(synced)
    try:
        with transaction(synced.sessions) as session:
            assert refresh_states(session, synced) is False
    finally:
        event.remove(synced.engine, "before_cursor_execute", listen)
    assert not [s for s in seen if "policy_versions" in s or "automation_pauses" in s]
    assert [s for s in seen if "change_stamps" in s]


def test_a_pause_committed_by_another_process_applies_to_the_next_decision(
    synced: Runtime, other: Runtime, clock: Clock
) -> None:
    assert synced.paused == frozenset()
    with transaction(other.sessions) as session:
        session.add(
            AutomationPause(
                scope="all", policy=None, reason="kill switch", paused_by="test", paused_at=clock.now
            )
        )
    with transaction(synced.sessions) as session:
        assert refresh_states(session, synced) is True
    assert synced.paused == frozenset({"*"})
    with transaction(other.sessions) as session:
        session.execute(text("UPDATE automation_pauses SET lifted_at = paused_at, lifted_by = 'test'"))
    with transaction(synced.sessions) as session:
        assert refresh_states(session, synced) is True
    assert synced.paused == frozenset()


def test_a_policy_state_changed_with_plain_sql_applies_to_the_next_decision(
    synced: Runtime, other: Runtime
) -> None:
    live = synced.policies.live("hate_speech")
    assert live is not None
    with other.engine.begin() as conn:  # no service code: the database's triggers bump the stamp
        conn.execute(
            text(
                "UPDATE policy_versions SET state = 'retired' "
                "WHERE kind = 'policy' AND area = 'hate_speech' AND version = :v"
            ),
            {"v": live.version},
        )
    with transaction(synced.sessions) as session:
        assert refresh_states(session, synced) is True
    assert synced.policies.live("hate_speech") is None


def test_a_bump_seen_inside_a_rolled_back_transaction_does_not_hide_the_next_change(
    synced: Runtime, other: Runtime, clock: Clock
) -> None:
    session = synced.sessions()
    try:  # this process pauses, decides (seeing its own uncommitted bump), then rolls back
        session.add(AutomationPause(scope="all", policy=None, reason="x", paused_by="t", paused_at=clock.now))
        session.flush()
        assert refresh_states(session, synced) is True
        session.rollback()
    finally:
        session.close()
    with transaction(other.sessions) as s:  # another process then makes a different change
        s.add(AutomationPause(scope="policy", policy="spam", reason="y", paused_by="t", paused_at=clock.now))
    with transaction(synced.sessions) as s:
        refresh_states(s, synced)
    assert synced.paused == frozenset({"spam"})
