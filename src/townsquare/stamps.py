"""Change stamps: counters the database bumps (triggers, migration 0024) when shared state changes.

`decision`: policy states and live text banks (policy_versions), automation pauses.
`access`: tokens, users, role grants, freezes (not the columns written on every use).

A process that caches such state reads the stamps (one tiny query) and reloads only when they moved;
because the triggers run in the changing transaction, a change committed by any process, the CLI or
plain SQL is seen by the next request that starts after the commit.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Connection, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from townsquare.db import Base

DECISION = "decision"
ACCESS = "access"


class ChangeStamp(Base):
    """One named counter."""

    __tablename__ = "change_stamps"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    counter: Mapped[int] = mapped_column(BigInteger)
    nonce: Mapped[int] = mapped_column(BigInteger)  # random per bump: a rolled-back bump never repeats


Stamp = tuple[int, int]
_QUERY = select(ChangeStamp.name, ChangeStamp.counter, ChangeStamp.nonce)


def read(db: Session | Connection) -> dict[str, Stamp]:
    """Every stamp as (counter, nonce); a missing row reads as absent, which callers treat as changed.

    `db` may be a plain Connection: a hot path that only checks a stamp skips the ORM session's cost.
    """
    return {name: (counter, nonce) for name, counter, nonce in db.execute(_QUERY)}
