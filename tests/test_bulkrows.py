"""Bulk rows (COPY on PostgreSQL, a batched INSERT elsewhere) store exactly what an INSERT stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from townsquare import bulkrows
from townsquare.access.models import Alert
from townsquare.db import transaction
from townsquare.runtime import Runtime
from townsquare.stream.models import StreamOffset

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ALERTS = Alert.__table__


def _alerts(n: int, tag: str) -> list[dict[str, object]]:
    # A timestamp in another zone, nested JSON, quotes, tabs, newlines and backslashes: what COPY must escape.
    east = timezone(timedelta(hours=5))
    return [
        {
            "kind": tag,
            "message": f'line one\tand "two"\nback\\slash {i}',
            "details": {"i": i, "nested": {"list": [1, "x", None]}, "text": "tab\there"},
            "created_at": (T0 + timedelta(minutes=i)).astimezone(east),
        }
        for i in range(n)
    ]


def _read(rt: Runtime, tag: str) -> list[tuple[object, ...]]:
    with transaction(rt.sessions) as session:
        rows = session.execute(
            select(Alert.kind, Alert.message, Alert.details, Alert.created_at, Alert.subject)
            .where(Alert.kind == tag)
            .order_by(Alert.id)
        )
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("n", [3, 40])  # below and above the size at which COPY takes over
def test_bulk_rows_store_what_an_insert_stores(rt: Runtime, n: int) -> None:
    with transaction(rt.sessions) as session:
        session.execute(insert(ALERTS), _alerts(n, "by-insert"))
        ids = bulkrows.insert_rows_returning_ids(session, Alert, _alerts(n, "by-bulk"))
    by_insert, by_bulk = _read(rt, "by-insert"), _read(rt, "by-bulk")
    assert len(by_bulk) == n
    assert [r[1:] for r in by_bulk] == [r[1:] for r in by_insert]
    assert by_bulk[0][3] == T0
    assert by_bulk[0][4] == ""
    with transaction(rt.sessions) as session:
        got = dict(session.execute(select(Alert.id, Alert.message).where(Alert.id.in_(ids))).tuples().all())
    assert [got[i] for i in ids] == [r[1] for r in by_bulk]  # ids in row order
    assert ids == sorted(ids)


def test_copy_serves_postgres_only(rt: Runtime) -> None:
    with transaction(rt.sessions) as session:
        ready = bulkrows._copy_ready(session, bulkrows._table(Alert), _alerts(40, "x"))
    assert ready is (rt.engine.dialect.name == "postgresql")


def test_a_duplicate_key_is_an_integrity_error_and_nothing_of_the_batch_stays(rt: Runtime) -> None:
    def offsets(keys: list[str]) -> list[dict[str, object]]:
        return [{"message_key": k, "kind": "post", "appended_at": T0, "processed_at": T0} for k in keys]

    with transaction(rt.sessions) as session:
        bulkrows.insert_rows(session, StreamOffset, offsets(["s/1-0"]))
    batch = [f"s/{i}-0" for i in range(2, 30)] + ["s/1-0"]
    with pytest.raises(IntegrityError), transaction(rt.sessions) as session:
        bulkrows.insert_rows(session, StreamOffset, offsets(batch))
    with transaction(rt.sessions) as session:
        stored = session.scalars(select(StreamOffset.message_key)).all()
        result = session.scalar(select(StreamOffset.result))
    assert stored == ["s/1-0"]
    assert result == "{}"  # the scalar default
