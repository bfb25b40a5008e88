"""Elections as data: the shape of an election (in elections.yaml and through the API), checked strictly.

The same model validates the file and the API, so a malformed window, an unknown jurisdiction or a
source that is not an https URL is refused the same way everywhere, naming the field.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from townsquare.api_types import Timestamp

SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
MAX_WINDOW_DAYS = 180
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2200, 12, 31)  # polling days outside are typos


def known_jurisdiction(code: str) -> str:
    """An ISO 3166-1 alpha-2 country, an ISO 3166-2 subdivision, or EU; anything else is refused."""
    if code == "EU":
        return code
    if "-" in code:
        if pycountry.subdivisions.get(code=code) is None:
            raise ValueError(f"unknown jurisdiction {code!r}: not an ISO 3166-2 subdivision")
        return code
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"unknown jurisdiction {code!r}: not an ISO 3166-1 alpha-2 country")
    return code


def _https(value: str) -> str:
    if not value.startswith("https://") or len(value) < 12 or any(c.isspace() for c in value):
        raise ValueError("must be an https:// URL of the official source")
    return value


Jurisdiction = Annotated[
    str, Field(pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"), AfterValidator(known_jurisdiction)
]
HttpsUrl = Annotated[str, Field(max_length=500), AfterValidator(_https)]
Name = Annotated[str, Field(min_length=3, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Polling(_Strict):
    """The polling days (inclusive); several rounds make one span."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Polling:
        for day in (self.start, self.end):
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(f"polling days must fall between {FIRST_DAY} and {LAST_DAY}")
        if self.end < self.start:
            raise ValueError("polling.end must not be before polling.start")
        if (self.end - self.start).days > 120:
            raise ValueError("polling spans more than 120 days; enter the rounds as separate elections")
        return self


class Window(_Strict):
    """How long before the first polling day and after the last the election mode lasts."""

    before_days: int = Field(ge=0, le=MAX_WINDOW_DAYS)
    after_days: int = Field(ge=0, le=MAX_WINDOW_DAYS)


class Sources(_Strict):
    """The official sources: who calls results, and where voters find how, when and where to vote."""

    results: HttpsUrl
    voting_information: HttpsUrl


class RaceSpec(_Strict):
    """A contest whose result the official source calls."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: Name
    candidates: list[Annotated[str, Field(min_length=2, max_length=120)]] = Field(
        default_factory=list, max_length=50
    )


class ElectionSpec(_Strict):
    """One election (file entry or API body)."""

    slug: str = Field(pattern=SLUG)
    name: Name
    jurisdiction: Jurisdiction
    polling: Polling
    window: Window
    sources: Sources
    sla_minutes: int = Field(default=60, ge=5, le=24 * 60)
    provisional: bool = False
    places: list[Annotated[str, Field(min_length=2, max_length=80)]] = Field(
        default_factory=list, max_length=30
    )
    races: list[RaceSpec] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _unique_races(self) -> ElectionSpec:
        keys = [r.key for r in self.races]
        if len(set(keys)) != len(keys):
            raise ValueError("races: each key may appear once")
        return self

    def window_dates(self) -> tuple[date, date]:
        """The first and last day (inclusive) of the election mode."""
        return window_of(
            self.polling.start, self.polling.end, self.window.before_days, self.window.after_days
        )


def window_of(start: date, end: date, before: int, after: int) -> tuple[date, date]:
    """The mode's window around polling days."""
    return start - timedelta(days=before), end + timedelta(days=after)


class ElectionUpdate(_Strict):
    """A change to an election: only the fields sent change; the result is checked as a whole."""

    name: Name | None = None
    jurisdiction: Jurisdiction | None = None
    polling: Polling | None = None
    window: Window | None = None
    sources: Sources | None = None
    sla_minutes: int | None = Field(default=None, ge=5, le=24 * 60)
    provisional: bool | None = None
    places: list[Annotated[str, Field(min_length=2, max_length=80)]] | None = Field(
        default=None, max_length=30
    )
    races: list[RaceSpec] | None = Field(default=None, max_length=50)
    reason: str = Field(min_length=1, max_length=2_000)


class RaceCall(_Strict):
    """The official source has called a race."""

    winner: Name
    source_url: HttpsUrl
    called_at: Timestamp | None = None
    reason: str = Field(default="", max_length=2_000)


def spec_dict(spec: ElectionSpec) -> dict[str, Any]:
    """JSON-able form of a spec (for events)."""
    return spec.model_dump(mode="json")
