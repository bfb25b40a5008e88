"""Request bodies for human enforcement: one action, a reversal, a bulk decision."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from townsquare.taxonomy import AREA_IDS

PLATFORM_ID = r"^[A-Za-z0-9._:@-]{1,128}$"


class HumanAction(BaseModel):
    """A moderator's decision to apply a rung of the ladder."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["label", "reduce_reach", "demonetise", "remove", "suspend", "ban"]
    policy: Literal[AREA_IDS]  # type: ignore[valid-type]
    post: str | None = Field(default=None, description="Post platform id (post actions)")
    account: str | None = Field(default=None, description="Account platform id (account actions)")
    reason: str = Field(default="", max_length=2_000)
    duration_days: int | None = Field(default=None, ge=1, le=3650)
    strike: bool = True


class Reversal(BaseModel):
    """Why an action is reversed."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2_000)


class BulkDecision(BaseModel):
    """One post action applied to many posts; above bulk_approval_size it needs a second person."""

    model_config = ConfigDict(extra="forbid")

    posts: list[Annotated[str, Field(pattern=PLATFORM_ID)]] = Field(
        min_length=1, max_length=1_000, description="Post platform ids"
    )
    action: Literal["label", "reduce_reach", "demonetise", "remove"]
    policy: Literal[AREA_IDS]  # type: ignore[valid-type]
    reason: str = Field(min_length=1, max_length=2_000)
    strike: bool = True
