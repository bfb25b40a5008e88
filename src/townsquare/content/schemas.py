"""Pydantic shapes of what platforms send and what the read API returns."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from townsquare.api_types import Count, Timestamp
from townsquare.taxonomy import REPORT_REASONS

_SURROGATE = re.compile("[\ud800-\udfff]")
_PLATFORM_ID = r"^[A-Za-z0-9._:@\-]{1,128}$"


_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")


def _clean_text(value: str) -> str:
    _no_surrogates(value)
    if not _INVISIBLE.sub("", value).strip():
        raise ValueError("must not be empty or only whitespace or invisible characters")
    return value


def _no_surrogates(value: str) -> str:
    if _SURROGATE.search(value):
        raise ValueError("contains a lone surrogate (not valid Unicode)")
    # PostgreSQL text cannot store U+0000; refuse it on every backend alike instead of failing at commit.
    if "\x00" in value:
        raise ValueError("contains a NUL character (U+0000)")
    return value


PlatformId = Annotated[str, Field(pattern=_PLATFORM_ID, description="The platform's own id.")]
Text = Annotated[str, AfterValidator(_clean_text)]
SafeStr = Annotated[str, AfterValidator(_no_surrogates)]
Language = Annotated[
    str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", description="BCP 47 code, e.g. en")
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=100_000)


HashValue = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9+/=_:.-]{8,128}$", description="A hashed device or IP id")
]


class AccountCreate(_Strict):
    """A new account as the platform sends it."""

    platform_id: PlatformId
    handle: Annotated[SafeStr, Field(min_length=1, max_length=128)]
    display_name: Annotated[SafeStr, Field(max_length=256)] = ""
    bio: Annotated[SafeStr, Field(max_length=5_000)] = ""
    links: list[HttpUrl] = Field(default_factory=list, max_length=20)
    created_at: Timestamp
    follower_count: Count = 0
    verified: bool = False
    protected: bool = False
    device_hashes: list[HashValue] = Field(
        default_factory=list, max_length=20, description="Hashed device ids, kept for ban-evasion matching"
    )
    ip_hashes: list[HashValue] = Field(
        default_factory=list, max_length=20, description="Hashed IP addresses, kept for ban-evasion matching"
    )


class AccountUpdate(_Strict):
    """A profile update; only the fields sent change, and the previous profile is kept."""

    handle: Annotated[SafeStr, Field(min_length=1, max_length=128)] | None = None
    display_name: Annotated[SafeStr, Field(max_length=256)] | None = None
    bio: Annotated[SafeStr, Field(max_length=5_000)] | None = None
    links: list[HttpUrl] | None = Field(default=None, max_length=20)
    follower_count: Count | None = None
    verified: bool | None = None
    protected: bool | None = None
    device_hashes: list[HashValue] | None = Field(default=None, max_length=20)
    ip_hashes: list[HashValue] | None = Field(default=None, max_length=20)


class PostCreate(_Strict):
    """A new post as the platform sends it."""

    platform_id: PlatformId
    author: PlatformId = Field(description="The author's account platform_id (send the account first).")
    text: Text
    language: Language | None = None
    created_at: Timestamp
    reply_to: PlatformId | None = None
    quote_of: PlatformId | None = None


class PostBatch(_Strict):
    """Up to the configured batch size of posts; each item is accepted or rejected on its own."""

    # Items are validated one by one in the service, so a malformed item is rejected on its own.
    posts: list[Any] = Field(min_length=1)


class PostEdit(_Strict):
    """An edit: a new version of the text, scored again."""

    text: Text
    language: Language | None = None
    edited_at: Timestamp | None = None


class PostDelete(_Strict):
    """The platform deleted the post; it becomes a tombstone."""

    deleted_at: Timestamp | None = None
    reason: Annotated[SafeStr, Field(max_length=500)] = ""


class MetricItem(_Strict):
    """One observed view count of a post."""

    post: PlatformId
    views: Count
    observed_at: Timestamp


class MetricsBatch(_Strict):
    """View-count snapshots for many posts."""

    items: list[MetricItem] = Field(min_length=1, max_length=10_000)


class ReportCreate(_Strict):
    """A user's flag on a post or an account."""

    platform_id: PlatformId | None = None
    reporter: PlatformId | None = Field(default=None, description="The reporting account, if a user.")
    subject_type: Literal["post", "account"]
    subject: PlatformId
    reason: Literal[REPORT_REASONS]  # type: ignore[valid-type]
    text: Annotated[SafeStr, Field(max_length=10_000)] = ""
    source: Literal["user", "trusted_flagger"] = "user"
    created_at: Timestamp | None = None


class ItemResult(BaseModel):
    """The outcome of one item in a batch."""

    index: int
    platform_id: str | None = None
    status: Literal["created", "duplicate", "rejected"]
    decision: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


class BatchResult(BaseModel):
    """Per-item results of a batch."""

    created: int
    duplicates: int
    rejected: int
    results: list[ItemResult]


def now_utc() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)
