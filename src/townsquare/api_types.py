"""Shared API parameter types: ids and version numbers bounded to what the database columns hold."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, Field

MAX_ROW_ID = 2**63 - 1  # BIGINT: a larger id would overflow the driver (a 500 instead of a 404)
MAX_VERSION = 2**31 - 1  # INTEGER version columns
MAX_COUNT = 2**31 - 1  # INTEGER count columns (followers, views)

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id")]
BodyId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]  # a row id in a request body
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]  # a follower or view count in a request body
Version = Annotated[int, Path(ge=1, le=MAX_VERSION, description="A version number")]


def as_utc(value: datetime) -> datetime:
    """A time in UTC (naive means UTC); ValueError when UTC falls outside years 1 to 9999.

    `0001-01-01T00:00:00+01:00` is a valid ISO 8601 time whose UTC form is in year 0: Python raises
    OverflowError on the conversion, which would escape validation as a 500.
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range: in UTC it falls outside the years 1 to 9999") from None


# A timestamp in a request, normalised to UTC; an out-of-range one is a 422 naming its field.
Timestamp = Annotated[datetime, AfterValidator(as_utc)]

# Documented on routes whose change may wait for a second person instead of happening at once.
PENDING: dict[int | str, dict[str, Any]] = {
    202: {"description": "Needs a second person: the body is the pending approval"}
}
