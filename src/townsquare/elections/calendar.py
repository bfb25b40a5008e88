"""The elections file (`elections.yaml`) and the calendar of election windows the policy engine reads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from townsquare.elections.schemas import ElectionSpec, window_of
from townsquare.policy.schema import ElectionCalendar, ElectionPeriod


class ElectionsFile(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid")

    elections: list[ElectionSpec]


class ElectionsFileError(ValueError):
    """The elections file is malformed; the message names the entry and field."""

    def __init__(self, path: Path, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{path}: {field + ': ' if field else ''}{message}")


def load_file(path: str | Path) -> list[ElectionSpec]:
    """Read and validate the elections file (unique slugs, no overlapping windows per jurisdiction)."""
    path = Path(path)
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ElectionsFileError(path, f"cannot read YAML: {exc}") from exc
    try:
        specs = ElectionsFile.model_validate(raw).elections
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise ElectionsFileError(path, str(err["msg"]).removeprefix("Value error, "), field) from exc
    seen: dict[str, ElectionSpec] = {}
    for i, spec in enumerate(specs):
        if spec.slug in seen:
            raise ElectionsFileError(path, f"slug {spec.slug!r} is used twice", f"elections.{i}.slug")
        clash = overlapping(spec.jurisdiction, spec.window_dates(), specs[:i])
        if clash is not None:
            raise ElectionsFileError(
                path, f"window overlaps {clash.slug!r} in {spec.jurisdiction}", f"elections.{i}.window"
            )
        seen[spec.slug] = spec
    return specs


def overlapping(
    jurisdiction: str, window: tuple[Any, Any], others: Iterable[ElectionSpec]
) -> ElectionSpec | None:
    """The first other election of the same jurisdiction whose window overlaps `window`."""
    start, end = window
    for other in others:
        o_start, o_end = other.window_dates()
        if other.jurisdiction == jurisdiction and start <= o_end and o_start <= end:
            return other
    return None


def calendar_of(rows: Iterable[Any]) -> ElectionCalendar:
    """The engine's calendar (one period per election window) from stored elections or specs."""
    periods = []
    for r in rows:
        if isinstance(r, ElectionSpec):
            start, end = r.window_dates()
            periods.append(
                ElectionPeriod(
                    name=r.name, jurisdiction=r.jurisdiction, start=start, end=end, provisional=r.provisional
                )
            )
            continue
        start, end = window_of(r.polling_start, r.polling_end, r.window_before_days, r.window_after_days)
        periods.append(
            ElectionPeriod(
                name=r.name, jurisdiction=r.jurisdiction, start=start, end=end, provisional=r.provisional
            )
        )
    return ElectionCalendar(periods=periods)


def load_calendar(path: str | Path) -> ElectionCalendar:
    """The calendar of the elections file (what a process uses until it has read the database)."""
    return calendar_of(load_file(path))
