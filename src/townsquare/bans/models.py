"""What is kept to catch ban evasion: banned accounts' fingerprints and accounts' device and IP hashes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db import Base, BigId, UTCDateTime


class BanFingerprint(Base):
    """The fingerprint of a banned account (no raw post text); its hashes expire with the retention."""

    __tablename__ = "ban_fingerprints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    device_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip_hashes: Mapped[list[str]] = mapped_column(JSON, default=list)
    hashes_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountHash(Base):
    """A device or IP hash the platform sent for an account, kept until the retention period runs out."""

    __tablename__ = "account_hashes"
    __table_args__ = (Index("ix_account_hashes_account", "account_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(String(8))  # device | ip
    value: Mapped[str] = mapped_column(String(128))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
