"""Stored scorer outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from townsquare.content.models import Post
from townsquare.db import Base, BigId, UTCDateTime


class SignalRecord(Base):
    """One scorer's output for one post version, with the versions that produced it."""

    __tablename__ = "signals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    post_version: Mapped[int] = mapped_column(Integer)
    scorer: Mapped[str] = mapped_column(String(64))
    scorer_version: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()
