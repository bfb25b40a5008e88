"""Review queues and routing rules, kept as data (`queues.yaml`): the first matching rule wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from townsquare.review.models import CASE_KINDS


class QueuesError(ValueError):
    """The queues file is malformed; the message names the rule and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QueueSpec(_Strict):
    """A named queue."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    title: str


class Conditions(_Strict):
    """What a case must have for a rule to route it (every given condition must hold)."""

    kind: list[str] | None = None
    policy: list[str] | None = None
    scorer: list[str] | None = None
    language_not: list[str] | None = None
    min_views: int | None = Field(default=None, ge=0)
    min_followers: int | None = Field(default=None, ge=0)
    min_velocity: float | None = Field(default=None, ge=0)
    protected: bool | None = None
    report_reason: list[str] | None = None
    election_period: bool | None = None
    trusted_flagger: bool | None = None

    @model_validator(mode="after")
    def _kinds(self) -> Conditions:
        unknown = sorted(set(self.kind or []) - set(CASE_KINDS))
        if unknown:
            raise ValueError(f"unknown case kind {', '.join(unknown)}")
        return self


class Rule(_Strict):
    """Send cases matching `when` to `queue`."""

    queue: str
    when: Conditions


class QueuesFile(_Strict):
    """The whole file."""

    queues: list[QueueSpec]
    rules: list[Rule]

    @model_validator(mode="after")
    def _consistent(self) -> QueuesFile:
        names = [q.name for q in self.queues]
        if len(set(names)) != len(names):
            raise ValueError("queue names must be unique")
        for i, rule in enumerate(self.rules):
            if rule.queue not in names:
                raise ValueError(f"rules.{i}.queue: unknown queue {rule.queue!r}")
        if not self.rules or self.rules[-1].when.model_dump(exclude_none=True):
            raise ValueError("the last rule must have no conditions, so every case has a queue")
        return self


@dataclass(frozen=True)
class Facts:
    """What routing knows about a case when it opens."""

    kind: str
    policy: str | None = None
    scorer: str | None = None
    language: str | None = None
    views: int = 0
    followers: int = 0
    velocity: float = 0.0
    protected: bool = False
    report_reasons: Sequence[str] = field(default_factory=tuple)
    election_period: bool = False
    trusted_flagger: bool = False


def _base(language: str) -> str:
    return language.lower().replace("_", "-").split("-")[0]


def _matches(c: Conditions, f: Facts) -> bool:
    checks: list[bool] = []
    if c.kind is not None:
        checks.append(f.kind in c.kind)
    if c.policy is not None:
        checks.append(f.policy in c.policy)
    if c.scorer is not None:
        checks.append(f.scorer in c.scorer)
    if c.language_not is not None:
        checks.append(f.language is not None and _base(f.language) not in {_base(x) for x in c.language_not})
    reach = [
        c.min_views is not None and f.views >= c.min_views,
        c.min_followers is not None and f.followers >= c.min_followers,
        c.min_velocity is not None and f.velocity >= c.min_velocity,
    ]
    if any(x is not None for x in (c.min_views, c.min_followers, c.min_velocity)):
        checks.append(any(reach))
    if c.protected is not None:
        checks.append(f.protected == c.protected)
    if c.report_reason is not None:
        checks.append(bool(set(f.report_reasons) & set(c.report_reason)))
    if c.election_period is not None:
        checks.append(f.election_period == c.election_period)
    if c.trusted_flagger is not None:
        checks.append(f.trusted_flagger == c.trusted_flagger)
    return all(checks)


class Router:
    """Routes cases to queues by the file's rules."""

    def __init__(self, spec: QueuesFile) -> None:
        self.spec = spec
        self.queues = {q.name: q for q in spec.queues}

    def route(self, facts: Facts) -> str:
        """The queue of the first rule that matches (the last rule matches everything)."""
        for rule in self.spec.rules:
            if _matches(rule.when, facts):
                return rule.queue
        return self.spec.rules[-1].queue

    def titles(self) -> dict[str, str]:
        """Queue name -> title, in file order."""
        return {q.name: q.title for q in self.spec.queues}


def load_queues(path: Path) -> Router:
    """Read and validate the queues file."""
    try:
        raw: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QueuesError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise QueuesError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return Router(QueuesFile.model_validate(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise QueuesError(f"{path.name}: {where}: {first['msg']}") from exc
