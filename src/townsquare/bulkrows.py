"""Many rows into one table at once: PostgreSQL's COPY where it serves, else one batched INSERT.

The hot path (ingest) writes hundreds of rows per table per batch. On PostgreSQL a batched INSERT spends
most of its client CPU building and parsing one large statement and dumping every parameter in Python;
COPY streams the rows through psycopg's C writer, at a fraction of the CPU on both sides. Rows go through
the same column types as an INSERT (SQLAlchemy's bind processors: timestamps to naive UTC, JSON
serialised), and the Python-side defaults of the columns a row leaves out are applied, so what is stored
is the same either way. Ids a caller needs are drawn from the table's sequence first, in row order.

Small batches, SQLite and tables whose defaults need an INSERT's context take the INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache, partial
from typing import Any, cast

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

COPY_FROM = 8  # fewer rows than this: the INSERT costs no more than setting up a COPY


def _table(target: Table | type[Any]) -> Table:
    """A table, or the table of a mapped class."""
    return target if isinstance(target, Table) else cast(Table, target.__table__)


def insert_rows(session: Session, target: Table | type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (every row with the same keys) into a table or a mapped class's table."""
    table = _table(target)
    if not rows:
        return
    if _copy_ready(session, table, rows):
        _copy(session, table, rows)
    else:
        session.execute(insert(table), list(rows))


def insert_rows_returning_ids(
    session: Session, target: Table | type[Any], rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert `rows` and return their new ids, in row order."""
    table = _table(target)
    if not rows:
        return []
    if _copy_ready(session, table, rows):
        ids = _next_ids(session, table, len(rows))
        _copy(session, table, [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
        return ids
    c = table.c.id
    if len(rows) == 1:
        return [session.execute(insert(table).returning(c), rows[0]).scalar_one()]
    return list(session.execute(insert(table).returning(c, sort_by_parameter_order=True), rows).scalars())


def _copy_ready(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or bind.dialect.driver != "psycopg" or len(rows) < COPY_FROM:
        return False
    return _plan(table, bind.dialect, tuple(rows[0])) is not None


def _copy(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY the rows (the caller checked `_copy_ready`)."""
    keys = tuple(rows[0])
    plan = _plan(table, session.get_bind().dialect, keys)
    assert plan is not None
    names, procs, defaults = plan
    conn = session.connection()
    raw = conn.connection.driver_connection
    assert raw is not None
    sql = f"COPY {_quote(table.name)} ({', '.join(_quote(n) for n in names)}) FROM STDIN"
    try:
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for row in rows:
                values = [row[k] for k in keys] + [make() for make in defaults]
                copy.write_row([p(v) if p is not None else v for p, v in zip(procs, values, strict=True)])
    except conn.dialect.loaded_dbapi.Error as exc:
        # As for any statement SQLAlchemy runs: the matching sqlalchemy.exc class (IntegrityError for a
        # duplicate key, OperationalError for a lost server), and a lost connection is invalidated.
        conn._handle_dbapi_exception(exc, sql, None, None, None)


def _next_ids(session: Session, table: Table, n: int) -> list[int]:
    found = session.execute(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": table.name, "n": n},
    ).scalars()
    return sorted(int(i) for i in found)


Plan = tuple[list[str], list[Any], list[Callable[[], Any]]]  # names, bind processors, defaults


@lru_cache(maxsize=256)
def _plan(table: Table, dialect: Dialect, keys: tuple[str, ...]) -> Plan | None:
    """Column names, bind processors and the defaults of the missing columns; None: needs an INSERT."""
    names, procs = list(keys), list[Any]()
    for k in keys:
        if k not in table.c:
            return None
        procs.append(table.c[k].type._cached_bind_processor(dialect))
    defaults: list[Callable[[], Any]] = []
    for col in table.c:
        if col.name in keys or col.default is None or col._insert_sentinel:
            continue  # an insert sentinel column stays NULL, as an INSERT leaves it
        d: Any = col.default
        if getattr(d, "is_scalar", False):
            defaults.append(partial(_same, d.arg))
        elif getattr(d, "is_callable", False) and not _wants_context(d.arg):
            defaults.append(partial(d.arg, None))
        else:
            return None  # a sequence or a context-reading default: only an INSERT knows it
        names.append(col.name)
        procs.append(col.type._cached_bind_processor(dialect))
    return names, procs, defaults


def _same(value: Any) -> Any:
    return value


def _wants_context(fn: Any) -> bool:
    """Whether a callable default reads the INSERT's context: SQLAlchemy wraps (`__wrapped__`) only the
    callables that take no argument, and passes the others the context."""
    return not hasattr(fn, "__wrapped__")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
