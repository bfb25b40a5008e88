"""Appeals of decisions, reinstatement applications, probations, council members, referrals and votes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.content.models import Account
from townsquare.db import Base, BigId, UTCDateTime

APPEAL_STATES = ("received", "in_review", "decided")
APPEAL_OUTCOMES = ("upheld", "overturned", "modified")


class Appeal(Base):
    """A complaint against a decision (DSA Art. 20): by the affected user, or by a reporter whose report
    was rejected (the post was left up)."""

    __tablename__ = "appeals"
    __table_args__ = (
        Index("ix_appeals_state", "state"),
        # One appeal per appellant and decision: two concurrent filings cannot both be stored.
        Index("uq_appeals_action_account", "action_id", "account_id", unique=True),
        Index("uq_appeals_report_account", "report_id", "account_id", unique=True),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # action | report
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), nullable=True, index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    original_source: Mapped[str] = mapped_column(String(16))  # automated | human
    original_actor: Mapped[str] = mapped_column(String(128))
    statement: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16))  # api | link
    state: Mapped[str] = mapped_column(String(16), default="received")
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    excluded_reviewers: Mapped[list[int]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sla_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    account: Mapped[Account] = relationship()


class ReinstatementApplication(Base):
    """A banned account asks to come back, once per waiting period."""

    __tablename__ = "reinstatement_applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    ban_action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    policy: Mapped[str] = mapped_column(String(64))
    tier: Mapped[str] = mapped_column(String(32))
    statement: Mapped[str] = mapped_column(Text)
    # refused (ineligible) | staff_review | council | decided
    state: Mapped[str] = mapped_column(String(16))
    eligibility: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    staff_votes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    council_recommendation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # reinstated | denied
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    departure_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    account: Mapped[Account] = relationship()


class CouncilMember(Base):
    """A member of the advisory council, with the affiliation recorded publicly."""

    __tablename__ = "council_members"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    affiliation: Mapped[str] = mapped_column(String(256))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CouncilReferral(Base):
    """Something the council is asked about: a reinstatement application or a policy change."""

    __tablename__ = "council_referrals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))  # reinstatement | policy_change
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("reinstatement_applications.id"), nullable=True
    )
    subject: Mapped[str] = mapped_column(String(128))  # public id or "policy:<area>@<version>"
    question: Mapped[str] = mapped_column(Text)
    packet: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    recommendation: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CouncilVote(Base):
    """One member's vote on a referral, with a rationale and reason tags."""

    __tablename__ = "council_votes"
    __table_args__ = (UniqueConstraint("referral_id", "member_id", name="uq_council_vote"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("council_referrals.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("council_members.id"), index=True)
    value: Mapped[int] = mapped_column(Integer)  # +1 support, 0 unsure, -1 oppose
    rationale: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    cast_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One notification's delivery to the platform's webhook: signed, retried with backoff, idempotent."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
