"""Actions taken and strikes issued, each with its statement of reasons."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.content.models import Account, Post
from townsquare.db import Base, BigId, UTCDateTime
from townsquare.policy.models import Verdict


class Action(Base):
    """One rung of the ladder applied to a post or an account."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    puid: Mapped[str] = mapped_column(String(200), unique=True)
    # label | reduce_reach | demonetise | remove | suspend | ban
    action_type: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str] = mapped_column(String(8))  # post | account
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), nullable=True, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    verdict_id: Mapped[int | None] = mapped_column(ForeignKey("verdicts.id"), nullable=True)
    policy: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[int] = mapped_column(Integer)
    automated: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(32))  # voluntary | notice | trusted_flagger
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    # active | reversed | expired
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    post: Mapped[Post | None] = relationship()
    account: Mapped[Account] = relationship()
    verdict: Mapped[Verdict | None] = relationship()


class Strike(Base):
    """A strike on an account for a violation; it expires on the policy's schedule."""

    __tablename__ = "strikes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    policy: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    severity: Mapped[int] = mapped_column(Integer, default=1)

    account: Mapped[Account] = relationship()
    action: Mapped[Action] = relationship()
