"""Accounts, posts and user reports: the platform's material, as projections of the event log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel, relationship

from townsquare.db import Base, BigId, UTCDateTime


class Account(Base):
    """A platform account and its current standing."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    platform_id: Mapped[str] = mapped_column(String(128), unique=True)
    handle: Mapped[str] = mapped_column(String(128), index=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    follower_count: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # good | limited | suspended | banned
    standing: Mapped[str] = mapped_column(String(16), default="good")
    standing_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Probation after a reinstatement: until then, the ladder counts `probation_bonus` extra strikes.
    probation_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    probation_bonus: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    profile_version: Mapped[int] = mapped_column(Integer, default=1)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountProfile(Base):
    """One version of an account's profile; every update is kept."""

    __tablename__ = "account_profiles"
    __table_args__ = (UniqueConstraint("account_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    handle: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(256), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    follower_count: Mapped[int] = mapped_column(Integer, default=0)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()


class Post(Base):
    """A post's current state; its text history lives in PostVersion."""

    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    platform_id: Mapped[str] = mapped_column(String(128), unique=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True)
    quote_of_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True)
    # The platform's parent ids, kept even when the parent has not arrived (yet).
    reply_to_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    quote_of_ref: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # visible | labelled | reduced | demonetised | removed | deleted
    status: Mapped[str] = mapped_column(String(16), default="visible", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    views: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)

    author: Mapped[Account] = relationship()


class PostVersion(Base):
    """One version of a post's text; an edit is a new version and is scored again."""

    __tablename__ = "post_versions"
    __table_args__ = (UniqueConstraint("post_id", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()


class ViewSnapshot(Base):
    """A view count observed at a time, so reach and velocity can be computed."""

    __tablename__ = "view_snapshots"
    __table_args__ = (Index("ix_view_snapshots_post_time", "post_id", "observed_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Lets SQLite batch INSERT ... RETURNING for many rows at once (SQLAlchemy insert sentinel).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    views: Mapped[int] = mapped_column(Integer)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()


class Report(Base):
    """A user's flag on a post or an account, with a reason from the taxonomy."""

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    platform_id: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # post | account
    subject_id: Mapped[int] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
