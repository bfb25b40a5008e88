"""A coordinated campaign: the accounts and posts that acted together, with its evidence and decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db import Base, BigId, UTCDateTime


class Campaign(Base):
    """One detected campaign; it is reviewed as a whole and decided in bulk (two people)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # the detector's id for the cluster
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open | pending | decided
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # text, link, repost, fresh_burst, reply
    score: Mapped[float] = mapped_column(Float, default=0.0)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_post_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"), nullable=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class CampaignPost(Base):
    """A post that is part of a campaign, with the review case opened for it."""

    __tablename__ = "campaign_posts"
    __table_args__ = (UniqueConstraint("campaign_id", "post_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)
