"""One chain keeper at a time, across threads, processes and the CLI, and consistent snapshots of the log.

Sealing, checkpointing and the start of a verification hold the **chain lock**:

- PostgreSQL: a session-level advisory lock (`pg_advisory_lock`) on the connection that does the work.
  The server releases it if the process dies, because the connection closes.
- SQLite: an exclusive `flock` on a lock file beside the database (`<database>-chainlock`, mode 0600).
  The kernel releases it if the process dies. Each sealing transaction inside it is a write
  transaction taken with `BEGIN IMMEDIATE`, so the chain head it reads is the one it extends.

Both wait in the kernel or the server until the lock is free; nothing polls. Writers never take the
lock: they only append batches, and the sealer links them later.

Reading the log (verification, reconciliation) happens in one snapshot: a REPEATABLE READ, READ ONLY
transaction on PostgreSQL, one read transaction on SQLite (WAL). Every query in it sees the same
committed state, however many writers and sealers commit meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

LOCK_KEY = 0x7473_6561  # "tsea": the advisory-lock key every Townsquare chain keeper uses
_memory_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_memory_guard = threading.Lock()


def lock_file(engine: Engine) -> Path | None:
    """The lock file of a SQLite database on disk (None for PostgreSQL or an in-memory database)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).with_name(Path(name).name + "-chainlock")


class ChainLock:
    """The held chain lock and the connection to do the locked work on; `release` ends it early."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None
        self._fd: int | None = None
        self._thread_lock: threading.Lock | None = None
        self.held = False

    @property
    def conn(self) -> Connection:
        """The connection the locked work runs on (opened by `acquire`)."""
        if self._conn is None:
            raise RuntimeError("the chain lock is not acquired")
        return self._conn

    def acquire(self) -> None:
        """Wait until no other keeper holds the lock, then hold it."""
        if self.engine.dialect.name == "postgresql":
            self._conn = self.engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
            self._conn.commit()
        else:
            path = lock_file(self.engine)
            if path is None:
                with _memory_guard:
                    self._thread_lock = _memory_locks.setdefault(self.engine, threading.Lock())
                self._thread_lock.acquire()
            else:
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            self.held = True  # before connecting: a failed connect must still let go of the lock
            self._conn = self.engine.connect()
        self.held = True

    def release(self) -> None:
        """Let the next keeper in; the connection stays usable (an open snapshot keeps its view)."""
        if not self.held:
            return
        self.held = False
        if self.engine.dialect.name == "postgresql":
            # Effective at once, even inside an open transaction (advisory unlocks are not transactional).
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        elif self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        elif self._thread_lock is not None:
            self._thread_lock.release()

    def close(self) -> None:
        """Release the lock if still held and return the connection."""
        conn = self._conn
        try:
            if self.held and conn is not None and conn.in_transaction():
                conn.rollback()  # a failed transaction would refuse the unlock statement
            self.release()
        except Exception:
            if conn is not None:  # a broken connection: dropping it ends its session, and the lock
                conn.invalidate()
            raise
        finally:
            if conn is not None:
                conn.close()


@contextmanager
def held(engine: Engine) -> Iterator[ChainLock]:
    """Hold the chain lock for the block (sealing, checkpointing, starting a verification)."""
    lock = ChainLock(engine)
    try:
        lock.acquire()
        yield lock
    finally:
        lock.close()


@contextmanager
def write_transaction(conn: Connection) -> Iterator[Session]:
    """One write transaction on `conn`, committed at the end (SQLite: BEGIN IMMEDIATE, the write lock)."""
    session = Session(bind=conn, expire_on_commit=False, autoflush=False)
    try:
        if conn.dialect.name == "sqlite":
            session.execute(text("BEGIN IMMEDIATE"))
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def snapshot(conn: Connection) -> Iterator[Session]:
    """A read-only session on `conn` whose every query sees the same committed state."""
    session = Session(bind=conn, expire_on_commit=False, autoflush=False)
    try:
        if conn.dialect.name == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        else:
            # pysqlite opens no transaction for a SELECT: without BEGIN each query sees a newer state.
            session.execute(text("BEGIN"))
        yield session
    finally:
        session.rollback()
        session.close()


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Session]:
    """A consistent read-only snapshot on a connection of its own (no chain lock)."""
    with engine.connect() as conn, snapshot(conn) as session:
        yield session
