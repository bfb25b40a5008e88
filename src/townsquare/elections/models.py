"""Elections, race calls, mode switches, election signals on posts, and claim-library versions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.db import Base, BigId, UTCDateTime


class Election(Base):
    """One election in one jurisdiction: polling dates, the window around them and official sources."""

    __tablename__ = "elections"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(16), index=True)
    polling_start: Mapped[date] = mapped_column(Date)
    polling_end: Mapped[date] = mapped_column(Date)
    window_before_days: Mapped[int] = mapped_column(Integer)
    window_after_days: Mapped[int] = mapped_column(Integer)
    results_url: Mapped[str] = mapped_column(String(500))
    voting_info_url: Mapped[str] = mapped_column(String(500))
    sla_minutes: Mapped[int] = mapped_column(Integer, default=60)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    places: Mapped[list[str]] = mapped_column(JSON, default=list)  # names that attribute a post to it
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    races: Mapped[list[Race]] = relationship(back_populates="election", order_by="Race.id")


class Race(Base):
    """A contest within an election; `called_at` is the race-called record from the official source."""

    __tablename__ = "election_races"
    __table_args__ = (UniqueConstraint("election_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    candidates: Mapped[list[str]] = mapped_column(JSON, default=list)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    winner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    called_by: Mapped[str | None] = mapped_column(String(128), nullable=True)

    election: Mapped[Election] = relationship(back_populates="races")


class ModeSwitch(Base):
    """Election mode turned on or off for one election's window (unique: recorded once by any process)."""

    __tablename__ = "election_mode_switches"
    __table_args__ = (UniqueConstraint("election_id", "direction", "window_start", "window_end"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    election_id: Mapped[int] = mapped_column(ForeignKey("elections.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # entered | exited
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ElectionSignal(Base):
    """What the election scorers found in one post version: the war room's counts and the info labels."""

    __tablename__ = "election_signals"
    __table_args__ = (
        Index("ix_election_signals_time", "created_at"),
        Index("ix_election_signals_post", "post_id", "post_version"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    post_version: Mapped[int] = mapped_column(Integer)
    election_id: Mapped[int | None] = mapped_column(ForeignKey("elections.id"), nullable=True)
    jurisdiction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # claim | premature_victory | voter_intimidation | voting_info | unmatched (flagged, no known claim)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    claim_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    score: Mapped[float] = mapped_column(Float)
    label_url: Mapped[str | None] = mapped_column(String(500), nullable=True)  # authoritative-info label
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClaimEntry(Base):
    """A claim added to the library through Townsquare (a proposed, live or rejected library version)."""

    __tablename__ = "claim_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claim_id: Mapped[str] = mapped_column(String(128), index=True)
    text: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(500))
    topic: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(12), default="proposed")  # proposed | live | rejected
    library_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    from_cluster: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    proposed_by: Mapped[str] = mapped_column(String(128))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"), nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rescored: Mapped[int] = mapped_column(Integer, default=0)
