"""Request bodies of the brand-safety API (Pydantic); every limit names its field when refused."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from townsquare.api_types import as_utc
from townsquare.brandsafety import taxonomy as tx

MAX_KEYWORDS = 2000
MAX_ACCOUNTS = 2000
MAX_PLACEMENTS = 1000
MAX_IMPRESSIONS = 5000

Preset = Literal["expanded", "moderate", "limited"]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Ref = Annotated[str, Field(min_length=1, max_length=128)]
Keyword = Annotated[str, Field(min_length=1, max_length=100)]


def _tolerances(v: dict[str, str]) -> dict[str, str]:
    for cat, tol in v.items():
        if cat not in tx.CATEGORIES:
            raise ValueError(
                f"unknown category {cat!r} (use an IAB Content Taxonomy 3.1 id or garm:misinformation)"
            )
        if tol not in tx.TOLERANCES:
            raise ValueError(f"tolerance for {cat} must be one of {', '.join(tx.TOLERANCES)}")
    return v


Tolerances = Annotated[dict[str, str], AfterValidator(_tolerances)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AdvertiserCreate(_Strict):
    """A new advertiser."""

    key: Key
    name: str = Field(min_length=1, max_length=256)


class MemberAdd(_Strict):
    """A staff user who acts for an advertiser."""

    username: str = Field(min_length=1, max_length=64)


class _ProfileFields(_Strict):
    tolerances: Tolerances | None = None
    excluded_keywords: list[Keyword] | None = Field(default=None, max_length=MAX_KEYWORDS)
    excluded_accounts: list[Ref] | None = Field(default=None, max_length=MAX_ACCOUNTS)
    allowed_accounts: list[Ref] | None = Field(default=None, max_length=MAX_ACCOUNTS)
    allowed_posts: list[Ref] | None = Field(default=None, max_length=MAX_ACCOUNTS)

    @field_validator("excluded_keywords")
    @classmethod
    def _words(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            for i, kw in enumerate(v):
                if not any(c.isalnum() for c in kw):
                    raise ValueError(f"keyword {i} has no letters or digits to match")
        return v


class ProfileCreate(_ProfileFields):
    """A new profile for an advertiser."""

    advertiser: Key
    name: str = Field(min_length=1, max_length=128)
    preset: Preset = "moderate"


class ProfileUpdate(_ProfileFields):
    """A change to a profile: only the fields sent change."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    preset: Preset | None = None


class CheckRequest(_Strict):
    """A profile and the posts an ad might run next to."""

    profile: int = Field(ge=1)
    placements: list[Ref] = Field(min_length=1, max_length=MAX_PLACEMENTS)


class ImpressionIn(_Strict):
    """One ad served next to one post."""

    id: Ref
    ad: Ref
    advertiser: Key
    post: Ref
    served_at: datetime
    profile: int | None = Field(default=None, ge=1)

    @field_validator("served_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("served_at needs a time zone (e.g. 2026-03-02T12:00:00Z)")
        return as_utc(v)


class ImpressionBatch(_Strict):
    """A batch of impression records from the platform's ad server."""

    impressions: list[ImpressionIn] = Field(min_length=1, max_length=MAX_IMPRESSIONS)
