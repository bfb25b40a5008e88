"""Engine, sessions and the declarative base shared by every domain's tables."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, DateTime, Engine, Integer, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.util import identity_key
from sqlalchemy.types import TypeDecorator

from townsquare.errors import Conflict

K = TypeVar("K")
T = TypeVar("T")
V = TypeVar("V")

# SQLite only auto-increments an INTEGER PRIMARY KEY, so big ids fall back to Integer there.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and always returned timezone-aware (UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base for all ORM tables."""


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the writer; NORMAL sync is durable across app crashes in WAL mode.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _create_private(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600), if it does not exist yet.

    It holds TOTP secrets and per-account keys; SQLite would create it with the umask (often 0644).
    Its -wal and -shm files take the database file's mode.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL pragmas and its parent folder is created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            _create_private(Path(parsed.database))
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """A session factory; services never commit, the caller owns the transaction."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def idempotent(factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 10) -> T:
    """Run `work` in its own transaction; when a concurrent writer stored the same key first (a unique
    violation at flush or commit), roll back and run it again.

    Two clients sending the same new id at once both see no row and both insert; the database keeps
    one. The loser's rerun finds the winner's row and answers as a repeat does (the first result, or
    a conflict when its body differs), instead of a 500 that says nothing was stored. Every collision
    means another writer committed, so among n concurrent writers each needs at most n attempts.
    """
    for attempt in range(attempts):
        try:
            with transaction(factory) as session:
                return work(session)
        except IntegrityError as exc:
            if attempt == attempts - 1:
                raise Conflict(
                    "a concurrent request wrote the same record; send it again", {"field": "body"}
                ) from exc
    raise AssertionError("unreachable")


def loaded(session: Session, model: type[Any], ident: Any) -> Any | None:
    """The object of `model` with this primary key if the session already holds it (no query)."""
    return session.identity_map.get(identity_key(model, ident))


def expire_loaded(session: Session, model: type[Any], idents: Iterable[Any], attrs: list[str]) -> None:
    """After a bulk UPDATE by primary key: make objects the session holds reload these attributes."""
    for ident in idents:
        obj = loaded(session, model, ident)
        if obj is not None:
            session.expire(obj, attrs)


class EngineCache(Generic[K, V]):
    """A value derived from one database, kept per engine with the stamp it was built for.

    Keyed by the engine object (weakly), not its URL: two test databases, or a database recreated at
    the same URL, never share an entry. Thread-safe; a stale entry is simply replaced.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: weakref.WeakKeyDictionary[Engine, tuple[K, V]] = weakref.WeakKeyDictionary()

    def get(self, session: Session) -> tuple[K, V] | None:
        """The (stamp, value) last stored for this session's engine, if any."""
        with self._lock:
            return self._items.get(session.get_bind().engine)

    def put(self, session: Session, stamp: K, value: V) -> None:
        """Store the value built for this stamp."""
        with self._lock:
            self._items[session.get_bind().engine] = (stamp, value)


R = TypeVar("R")


class _Ticket(Generic[T, R]):
    __slots__ = ("key", "item", "done", "result", "error")

    def __init__(self, key: str, item: T) -> None:
        self.key, self.item = key, item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[T, R]):
    """Group commit: concurrent callers with the same key share one run (one transaction) of their items.

    The first caller to find no run in progress leads: it takes every waiting item with the key of the
    oldest (up to `limit`), runs them together and hands out the results; items that arrive meanwhile
    wait for the next run. Nothing waits on a timer: a caller alone runs at once, and under load the
    runs grow by themselves. A leader whose own item is done hands the lead to a waiting caller.

    `run` returns one result per item, in order. When it raises for a group of several, each item is
    run again on its own, so one item that breaks its run does not fail its neighbours.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._cond = threading.Condition()
        self._waiting: list[_Ticket[T, R]] = []
        self._leading = False

    def submit(self, key: str, item: T, run: Callable[[list[T]], list[R]]) -> R:
        """The result of `item`, run alone or with items other callers submitted meanwhile."""
        ticket: _Ticket[T, R] = _Ticket(key, item)
        with self._cond:
            self._waiting.append(ticket)
            while self._leading and not ticket.done:
                self._cond.wait()
            leader = not ticket.done
            self._leading = self._leading or leader
        if leader:
            try:
                while not ticket.done:
                    self._run_next(run)
            finally:
                with self._cond:
                    self._leading = False
                    self._cond.notify_all()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]

    def _run_next(self, run: Callable[[list[T]], list[R]]) -> None:
        with self._cond:
            key = self._waiting[0].key
            group: list[_Ticket[T, R]] = []
            rest: list[_Ticket[T, R]] = []
            for t in self._waiting:
                (group if t.key == key and len(group) < self.limit else rest).append(t)
            self._waiting = rest
        try:
            self._settle(group, run)
        except BaseException as exc:  # interrupted: the callers waiting on this group get the error
            for t in group:
                t.error = exc
            raise
        finally:
            with self._cond:
                for t in group:
                    t.done = True
                self._cond.notify_all()

    @staticmethod
    def _settle(group: list[_Ticket[T, R]], run: Callable[[list[T]], list[R]]) -> None:
        try:
            for t, result in zip(group, run([t.item for t in group]), strict=True):
                t.result = result
            return
        except Exception as exc:
            if len(group) == 1:
                group[0].error = exc
                return
        for t in group:  # the group failed: each on its own, so only what fails alone fails
            try:
                [t.result] = run([t.item])
            except Exception as exc:
                t.error = exc
