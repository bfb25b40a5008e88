"""Transparency records: authorities' orders, recipients posted by the platform, Part 11 texts, published
reports, statements of reasons sent to the Transparency Database, prevalence samples."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db import Base, BigId, UTCDateTime


class AuthorityOrder(Base):
    """An order from a Member State authority (DSA Art. 9: act against content; Art. 10: information)."""

    __tablename__ = "tr_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(128), unique=True)  # the authority's own reference
    order_type: Mapped[str] = mapped_column(String(8))  # act | info
    member_state: Mapped[str] = mapped_column(String(2))
    authority: Mapped[str] = mapped_column(String(256))  # an institution's name, not a person's
    category: Mapped[str] = mapped_column(String(80))  # STATEMENT_CATEGORY_*
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    items: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    effected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecipientCount(Base):
    """Active recipients of the service in one month and Member State (or TOTAL), posted by the platform."""

    __tablename__ = "tr_recipients"
    __table_args__ = (UniqueConstraint("month", "scope"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    scope: Mapped[str] = mapped_column(String(8))  # TOTAL or a Member State code
    recipients: Mapped[int] = mapped_column(BigId)
    posted_by: Mapped[str] = mapped_column(String(128))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QualitativeText(Base):
    """One Part 11 answer as edited by the operator; every edit is a new row (the newest wins)."""

    __tablename__ = "tr_texts"
    __table_args__ = (Index("ix_tr_texts_indicator", "indicator", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    indicator: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    edited_by: Mapped[str] = mapped_column(String(128))
    edited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ModeratorLanguage(Base):
    """A language a staff moderator reviews in (ISO 639-1), for Part 9."""

    __tablename__ = "tr_moderator_languages"
    __table_args__ = (UniqueConstraint("user_id", "language"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    language: Mapped[str] = mapped_column(String(8))


class PublishedReport(Base):
    """A published transparency report: immutable; its SHA-256 is recorded in the event log."""

    __tablename__ = "tr_published"
    __table_args__ = (UniqueConstraint("period_from", "period_to", "version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16))  # pending | published
    body: Mapped[str | None] = mapped_column(Text, nullable=True)  # canonical JSON of the report
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class StatementSent(Base):
    """A statement of reasons the Transparency Database has (201, or 422 'puid not unique')."""

    __tablename__ = "tr_sor_sent"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    puid: Mapped[str] = mapped_column(String(500), unique=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"), index=True)
    endpoint: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(16))  # created | duplicate
    uuid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubmitCursor(Base):
    """How far `submit dsa` got for one endpoint: the last action id whose batch was confirmed."""

    __tablename__ = "tr_sor_cursors"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(500), unique=True)
    last_action_id: Mapped[int] = mapped_column(BigId, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PrevalenceSample(Base):
    """One sampled view: drawn with probability proportional to views x weight(score), then labelled."""

    __tablename__ = "tr_prevalence_samples"
    __table_args__ = (Index("ix_tr_prev_day", "day", "label"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    score: Mapped[float] = mapped_column(Float)  # the highest policy score of the post
    scored_policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    weight: Mapped[float] = mapped_column(Float)  # weight(score) used in the draw
    probability: Mapped[float] = mapped_column(Float)  # chance one draw lands on this post
    day_views: Mapped[int] = mapped_column(BigId)  # all views that day (the population)
    post_views: Mapped[int] = mapped_column(BigId)  # this post's views that day
    draws: Mapped[int] = mapped_column(Integer)  # n: draws made that day
    label: Mapped[str | None] = mapped_column(String(64), nullable=True)  # policy id | none
    labelled_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    labelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
