"""Review cases, the decisions people make on them, near-duplicate bands, automation pauses, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.content.models import Account, Post
from townsquare.db import Base, BigId, UTCDateTime

CASE_STATES = ("open", "assigned", "escalated", "decided", "reopened")
OPEN_STATES = ("open", "assigned", "escalated", "reopened")
# review: the engine or reports sent it; account_action: a suspension or ban awaits a person;
# second_review: an independent re-check of a human decision; automation_qa: a sample of automated
# actions; escalation: sent up by a moderator or a disagreement.
CASE_KINDS = ("review", "account_action", "second_review", "automation_qa", "escalation")


class Case(Base):
    """One thing a person must look at: a post (or an account) with why it is here and how urgent it is."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_queue_state", "queue", "state"),
        Index("ix_cases_subject", "subject_type", "post_id", "account_id"),
        Index("ix_cases_queue_priority", "queue", "priority"),
        Index("ix_cases_queue_opened", "queue", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject_type: Mapped[str] = mapped_column(String(16))  # post | account
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    post_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(24))
    queue: Mapped[str] = mapped_column(String(48))
    state: Mapped[str] = mapped_column(String(16), default="open")
    opened_reason: Mapped[str] = mapped_column(String(64))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    proposed_action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    score: Mapped[float] = mapped_column(Float, default=0.0)
    scorer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id"), nullable=True)
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), nullable=True)
    parent_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    report_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    trusted_flagger: Mapped[bool] = mapped_column(Boolean, default=False)
    brigading: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    dup_group: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    signature: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)  # MinHash, for verification
    priority: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    priority_inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    lock_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    excluded_reviewers: Mapped[list[int]] = mapped_column(JSON, default=list)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # e.g. ban-evasion evidence
    revision: Mapped[int] = mapped_column(Integer, default=1)

    post: Mapped[Post | None] = relationship()
    account: Mapped[Account] = relationship()


class CaseDecision(Base):
    """One person's decision on a case (a case re-opened and decided again has several)."""

    __tablename__ = "case_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # no_violation | violation
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    action_id: Mapped[int | None] = mapped_column(ForeignKey("actions.id"), nullable=True)
    approval_id: Mapped[int | None] = mapped_column(ForeignKey("approvals.id"), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)

    case: Mapped[Case] = relationship()


class CaseBand(Base):
    """One locality-sensitive band of a case's MinHash: cases sharing a band are near-duplicate candidates."""

    __tablename__ = "case_bands"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    band: Mapped[str] = mapped_column(String(40), index=True)


class AutomationPause(Base):
    """Automated action paused for one policy or for all, by a person (kill switch) or by QA precision."""

    __tablename__ = "automation_pauses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # all | policy
    policy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_by: Mapped[str] = mapped_column(String(128))
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Notification(Base):
    """A message for a platform user (a reporter told the outcome, later appeal notices)."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(128))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    account: Mapped[Account] = relationship()


class ReportOutcome(Base):
    """Which case a report was folded into and whether it was upheld (the reporter's track record)."""

    __tablename__ = "report_outcomes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), nullable=True, index=True)
    source: Mapped[str] = mapped_column(String(24), default="user")  # user | trusted_flagger
    suspicious: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # upheld | rejected
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseNote(Base):
    """An internal note on a case, for the next person who opens it (never shown to the platform user)."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewerPrefs(Base):
    """A reviewer's wellbeing settings: what to blur, grayscale, and when to suggest a break."""

    __tablename__ = "reviewer_prefs"

    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), primary_key=True)
    blur_from: Mapped[str] = mapped_column(String(16), default="high")  # low|medium|high|critical|off
    grayscale: Mapped[bool] = mapped_column(Boolean, default=False)
    break_after: Mapped[int] = mapped_column(Integer, default=8)  # severe cases in a row; 0 = never
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
