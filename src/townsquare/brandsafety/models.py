"""Brand-safety tables: advertisers and their members, profiles, the label index (a log) and impressions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, orm_insert_sentinel

from townsquare.db import Base, BigId, UTCDateTime


class Advertiser(Base):
    """An advertiser: its staff users (members) manage its profiles and read its reports."""

    __tablename__ = "bs_advertisers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class AdvertiserMember(Base):
    """A staff user (role `advertiser`) acting for one advertiser."""

    __tablename__ = "bs_members"
    __table_args__ = (UniqueConstraint("advertiser_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    advertiser_id: Mapped[int] = mapped_column(ForeignKey("bs_advertisers.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Profile(Base):
    """An advertiser's suitability settings; every change bumps `version` (and is an event)."""

    __tablename__ = "bs_profiles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    advertiser_id: Mapped[int] = mapped_column(ForeignKey("bs_advertisers.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    preset: Mapped[str] = mapped_column(String(16))  # expanded | moderate | limited
    tolerances: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # category -> bsr00x | none
    excluded_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_accounts: Mapped[list[str]] = mapped_column(JSON, default=list)
    allowed_posts: Mapped[list[str]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))


class PostLabels(Base):
    """One state of a post's suitability: written with every decision, edit, deletion and action.

    Append-only: the latest row (highest `seq`) per post is the index the check reads; older rows say
    what a placement carried when an impression was served. `text` holds the words of the post's
    normalised text, for advertisers' keywords (blanked when the author's account is erased).
    """

    __tablename__ = "bs_post_labels"
    __table_args__ = (Index("ix_bs_post_labels_post_seq", "post_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    post_pid: Mapped[str] = mapped_column(String(128))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    account_pid: Mapped[str] = mapped_column(String(128))
    post_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    text: Mapped[str] = mapped_column(Text, default="")
    label_version: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AccountState(Base):
    """One state of an account's standing for brand safety (written when an account action changes it)."""

    __tablename__ = "bs_account_states"
    __table_args__ = (Index("ix_bs_account_states_account_seq", "account_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    account_pid: Mapped[str] = mapped_column(String(128))
    standing: Mapped[str] = mapped_column(String(16))
    standing_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Impression(Base):
    """An ad served next to a post, with what the post carried when it was served."""

    __tablename__ = "bs_impressions"
    __table_args__ = (
        UniqueConstraint("advertiser_id", "impression_id"),
        Index("ix_bs_impressions_advertiser_served", "advertiser_id", "served_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    _sentinel: Mapped[int | None] = orm_insert_sentinel()
    advertiser_id: Mapped[int] = mapped_column(ForeignKey("bs_advertisers.id"))
    impression_id: Mapped[str] = mapped_column(String(128))
    ad_id: Mapped[str] = mapped_column(String(128))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), index=True)
    profile_id: Mapped[int | None] = mapped_column(ForeignKey("bs_profiles.id"), nullable=True)
    served_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # {"status", "standing", "labels": [{"category", "risk"}], "label_seq", "label_version"}
    served: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
