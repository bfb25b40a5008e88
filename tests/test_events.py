"""The event log: canonical form, Merkle batches, chain, triggers, checkpoints, tamper detection, erasure."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError

from tests.conftest import Clock
from townsquare.db import transaction
from townsquare.eventlog import audit, chain, chain_lock, crypto, events
from townsquare.eventlog.events import Event, canonical_json, leaf_hash, merkle_root
from townsquare.runtime import Runtime

TABLES = ("events", "event_batches", "chain_links", "checkpoints")


def _write(rt: Runtime, n_batches: int = 3, per_batch: int = 3) -> None:
    for b in range(n_batches):
        with transaction(rt.sessions) as session:
            for i in range(per_batch):
                events.record(
                    session,
                    "test.happened",
                    actor="test",
                    subject_type="thing",
                    subject_id=f"{b}-{i}",
                    at=rt.now(),
                    payload={"n": i, "note": "héllo ✓"},
                )


def _sql(rt: Runtime, *statements: str) -> None:
    with rt.engine.begin() as conn:
        for s in statements:
            conn.execute(text(s))


def _drop_triggers(rt: Runtime) -> None:
    if rt.engine.dialect.name == "postgresql":
        _sql(rt, *(f"ALTER TABLE {t} DISABLE TRIGGER USER" for t in TABLES))
    else:
        _sql(rt, *(f"DROP TRIGGER {t}_no_{verb}" for t in TABLES for verb in ("update", "delete")))


def _first_problem(rt: Runtime) -> str:
    result = chain.verify(rt)
    assert not result.ok
    return result.problems[0]


def test_canonical_json_sorts_keys_and_drops_whitespace() -> None:
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == '{"a":{"c":"é","d":[1,2]},"b":1}'


def test_merkle_root_follows_rfc6962() -> None:
    leaves = [leaf_hash(x) for x in ("a", "b", "c")]

    def node(left: str, right: str) -> str:
        return hashlib.sha256(b"\x01" + bytes.fromhex(left) + bytes.fromhex(right)).hexdigest()

    assert merkle_root(leaves[:1]) == leaves[0]
    assert merkle_root(leaves) == node(node(leaves[0], leaves[1]), leaves[2])


def test_each_transaction_writes_one_batch_and_seal_chains_them(rt: Runtime) -> None:
    _write(rt, n_batches=3, per_batch=4)
    assert chain.seal_all(rt) == 3
    result = chain.verify(rt)
    assert result.ok, result.problems
    assert (result.batches, result.events, result.head_seq) == (3, 12, 3)


def test_rolled_back_transaction_leaves_no_events(rt: Runtime) -> None:
    def crash() -> None:
        with transaction(rt.sessions) as session:
            events.record(session, "test.x", actor="t", subject_type="s", subject_id="1", at=rt.now())
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        crash()
    with rt.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 0


def test_bodies_are_stored_as_canonical_text(rt: Runtime) -> None:
    _write(rt, 1, 1)
    with rt.engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM events")).scalar_one()
    assert body == canonical_json(json.loads(body))


@pytest.mark.parametrize("statement", ["UPDATE events SET type = 'x'", "DELETE FROM events"])
def test_database_refuses_update_and_delete(rt: Runtime, statement: str) -> None:
    _write(rt, 1, 2)
    with pytest.raises((IntegrityError, OperationalError, DatabaseError)):
        _sql(rt, statement)


@pytest.mark.parametrize("table", ["event_batches", "chain_links", "checkpoints"])
def test_chain_tables_refuse_delete(rt: Runtime, table: str) -> None:
    _write(rt, 1, 1)
    chain.checkpoint(rt)
    with pytest.raises((IntegrityError, OperationalError, DatabaseError)):
        _sql(rt, f"DELETE FROM {table}")


def test_altered_body_is_caught_with_triggers_dropped(rt: Runtime) -> None:
    _write(rt)
    chain.seal_all(rt)
    _drop_triggers(rt)
    _sql(rt, "UPDATE events SET body = replace(body, 'héllo', 'hello') WHERE id = 5")
    assert "event 5" in _first_problem(rt)
    assert "altered" in _first_problem(rt)


def test_removed_event_is_caught(rt: Runtime) -> None:
    _write(rt)
    chain.seal_all(rt)
    _drop_triggers(rt)
    _sql(rt, "DELETE FROM events WHERE id = 9")
    assert "batch 3" in _first_problem(rt)


def test_reordered_events_are_caught(rt: Runtime) -> None:
    _write(rt)
    chain.seal_all(rt)
    _drop_triggers(rt)
    _sql(
        rt,
        "UPDATE events SET idx = 99 WHERE id = 4",
        "UPDATE events SET idx = 0 WHERE id = 5",
        "UPDATE events SET idx = 1 WHERE id = 4",
    )
    problem = _first_problem(rt)
    assert "batch 2" in problem


def test_removed_batch_is_caught(rt: Runtime) -> None:
    _write(rt)
    chain.seal_all(rt)
    _drop_triggers(rt)
    _sql(
        rt,
        "DELETE FROM events WHERE batch_id = 2",
        "DELETE FROM chain_links WHERE batch_id = 2",
        "DELETE FROM event_batches WHERE id = 2",
    )
    assert "seq 2" in _first_problem(rt)


def _rehash_tail(rt: Runtime, event_id: int) -> None:
    """A careful insider: alter an event, then recompute its leaf, its batch root and every later link."""
    with rt.engine.begin() as conn:
        body = conn.execute(text("SELECT body FROM events WHERE id = :i"), {"i": event_id}).scalar_one()
        forged = body.replace("héllo", "forged")
        conn.execute(
            text("UPDATE events SET body = :b, leaf_hash = :h WHERE id = :i"),
            {"b": forged, "h": leaf_hash(forged), "i": event_id},
        )
        batch = conn.execute(text("SELECT batch_id FROM events WHERE id = :i"), {"i": event_id}).scalar_one()
        leaves = [
            r[0]
            for r in conn.execute(
                text("SELECT leaf_hash FROM events WHERE batch_id = :b ORDER BY idx"), {"b": batch}
            )
        ]
        conn.execute(
            text("UPDATE event_batches SET merkle_root = :r WHERE id = :b"),
            {"r": merkle_root(leaves), "b": batch},
        )
        links = conn.execute(
            text(
                "SELECT l.seq, l.batch_id, b.event_count, b.merkle_root FROM chain_links l "
                "JOIN event_batches b ON b.id = l.batch_id ORDER BY l.seq"
            )
        ).all()
        prev = events.CHAIN_GENESIS
        for seq, batch_id, count, root in links:
            link = events.chain_hash(seq, batch_id, count, root, prev)
            conn.execute(
                text("UPDATE chain_links SET prev_hash = :p, chain_hash = :c WHERE seq = :s"),
                {"p": prev, "c": link, "s": seq},
            )
            prev = link


def test_rehashed_tail_passes_the_chain_but_not_the_signed_checkpoint(rt: Runtime) -> None:
    _write(rt)
    chain.checkpoint(rt)
    _drop_triggers(rt)
    _rehash_tail(rt, 5)
    problem = _first_problem(rt)
    assert "checkpoint" in problem
    assert "rewritten" in problem


def test_truncated_tail_after_checkpoint_is_caught(rt: Runtime) -> None:
    _write(rt)
    chain.checkpoint(rt)
    _drop_triggers(rt)
    _sql(
        rt,
        "DELETE FROM events WHERE batch_id = 3",
        "DELETE FROM chain_links WHERE batch_id = 3",
        "DELETE FROM event_batches WHERE id = 3",
    )
    assert "tail was removed" in _first_problem(rt)


def test_deleted_checkpoint_rows_are_caught_from_the_file_copy(rt: Runtime) -> None:
    _write(rt)
    chain.checkpoint(rt)
    _drop_triggers(rt)
    _sql(rt, "DELETE FROM checkpoints")
    assert "not the database" in _first_problem(rt)


def test_forged_checkpoint_signature_is_caught(rt: Runtime) -> None:
    _write(rt)
    chain.checkpoint(rt)
    _drop_triggers(rt)
    _sql(rt, "UPDATE checkpoints SET signature = '" + "00" * 64 + "'")
    log = rt.settings.checkpoint_log_path
    log.write_text(
        log.read_text().replace(json.loads(log.read_text().splitlines()[0])["signature"], "00" * 64)
    )
    assert "signature invalid" in _first_problem(rt)


def test_erasing_a_key_hides_personal_fields_and_keeps_the_chain_valid(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        crypto.create_key(session, 42, rt.now())
        events.record(
            session,
            "post.created",
            actor="t",
            subject_type="post",
            subject_id="p1",
            at=rt.now(),
            personal={"text": "my secret text"},
            owner=42,
        )
    with transaction(rt.sessions) as session:
        body = events.body_of(session.query(Event).one())
        assert "my secret text" not in json.dumps(body)
        assert crypto.decrypt_field(session, 42, body["payload"]["text"]) == "my secret text"
        crypto.erase_key(session, 42)
    with transaction(rt.sessions) as session:
        body = events.body_of(session.query(Event).one())
        assert crypto.decrypt_field(session, 42, body["payload"]["text"]) == crypto.ERASED
    assert chain.verify(rt).ok


def _batch_at(rt: Runtime, at: datetime, n: int = 1) -> None:
    """One batch whose events are dated `at`: a forger with INSERT rights writes exactly these bytes."""
    with transaction(rt.sessions) as session:
        for i in range(n):
            events.record(
                session,
                "action.reversed",
                actor="user:forger",
                subject_type="post",
                subject_id=f"p{i}",
                at=at,
            )


def test_forged_backdated_batch_fails_verify(rt: Runtime, clock: Clock) -> None:
    _write(rt)
    chain.seal_all(rt)
    clock.advance(hours=2)
    _write(rt, 1)
    _batch_at(rt, clock.now - timedelta(days=3))  # "this was reversed three days ago"
    _write(rt, 1)
    problems = chain.verify(rt).problems
    assert len(problems) == 1, problems
    assert "batch 5 (chain seq 5): event 13 is dated 2026-02-27T14:00:00.000000Z" in problems[0]
    assert "backdated beyond the 300 s tolerance" in problems[0]


def test_writers_clock_skew_within_the_tolerance_is_not_backdating(rt: Runtime, clock: Clock) -> None:
    _write(rt, 1)
    _batch_at(rt, clock.now - timedelta(seconds=rt.settings.chain_time_tolerance_s - 1))
    _write(rt, 1)
    assert chain.verify(rt).ok


def test_a_fast_writer_clock_does_not_make_the_batches_after_it_look_backdated(
    rt: Runtime, clock: Clock
) -> None:
    _batch_at(rt, clock.now + timedelta(hours=1))  # a writer an hour ahead; the sealer's clock is right
    chain.seal_all(rt)
    _write(rt, 2)
    result = chain.verify(rt)
    assert result.ok, result.problems


def test_batches_committed_but_not_sealed_are_pending_not_tampering(rt: Runtime) -> None:
    _write(rt, 2)
    chain.seal_all(rt)
    _write(rt, 3)
    with chain_lock.read_snapshot(rt.engine) as session:
        result = audit.verify(session, log_path=rt.settings.checkpoint_log_path)
    assert result.ok, result.problems
    assert (result.head_seq, result.pending) == (2, 3)


def test_a_checkpoint_is_published_only_after_it_is_committed(rt: Runtime) -> None:
    _write(rt, 1)
    cp = chain.checkpoint(rt)
    line = json.loads(rt.settings.checkpoint_log_path.read_text().splitlines()[-1])
    assert line == cp
    with rt.engine.connect() as conn:
        assert conn.execute(text("SELECT seq, signature FROM checkpoints")).one() == (1, cp["signature"])


def test_a_damaged_checkpoint_log_line_is_reported_not_a_crash(rt: Runtime) -> None:
    _write(rt, 1)
    chain.checkpoint(rt)
    with rt.settings.checkpoint_log_path.open("a") as fh:
        fh.write('{"seq": 1, "chain_hash": \n')
    assert "checkpoint log line 2 is not a checkpoint" in _first_problem(rt)
