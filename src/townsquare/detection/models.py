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


class ModelVersion(Base):
    """A trained set of fast-tier artifacts: shadow after `models retrain`, live once two people agree.

    `files` is the version's manifest (artifact path -> sha256); the artifacts themselves are kept in
    the model store (`path`), so any version can be put back live (`models rollback`).
    """

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(96), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # shadow | live | retired
    path: Mapped[str] = mapped_column(String(512))
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    approval_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
