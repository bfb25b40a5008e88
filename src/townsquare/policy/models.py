"""Policy versions as recorded in the database, and the verdicts they produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from townsquare.content.models import Post
from townsquare.db import Base, BigId, UTCDateTime


class PolicyVersionRecord(Base):
    """An immutable policy (or text bank) version and its lifecycle state."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("kind", "area", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # policy | textbank
    area: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)  # canonical JSON of the version as loaded
    # draft | shadow | live | retired
    state: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Verdict(Base):
    """The decision made on one post version by the live (or a shadow) policy set."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    post_version: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8), default="live")  # live | shadow
    # no_violation | review | action
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    proposed_action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    automated: Mapped[bool] = mapped_column(Boolean, default=True)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()
