"""The published appeals and reinstatement rules (`appeals.yaml`), validated strictly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator


class RulesError(ValueError):
    """The rules file is malformed; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tier(_Strict):
    """A severity tier: its policies and waiting period (none: never eligible)."""

    name: str
    policies: list[str] = Field(min_length=1)
    waiting_days: int | None = Field(default=None, ge=1)
    never_reason: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Tier:
        if (self.waiting_days is None) == (self.never_reason is None):
            raise ValueError(f"tier {self.name}: give either waiting_days or never_reason")
        return self


class CouncilRule(_Strict):
    """When an application goes to the council."""

    min_followers: int = Field(ge=0)
    protected: bool = True
    staff_disagreement: bool = True


class ProbationRule(_Strict):
    """A reinstated account's probation."""

    days: int = Field(ge=1)
    strike_bonus: int = Field(ge=1)


class Reinstatement(_Strict):
    """Eligibility, council referral and probation."""

    tiers: list[Tier]
    repeated_ban_evasion: int = Field(ge=1)
    council: CouncilRule
    probation: ProbationRule

    def tier_of(self, policy: str) -> Tier | None:
        """The tier a ban under this policy falls in."""
        return next((t for t in self.tiers if policy in t.policies), None)


class Rules(_Strict):
    """The whole file."""

    sla_hours: dict[str, int]
    reinstatement: Reinstatement

    @model_validator(mode="after")
    def _default(self) -> Rules:
        if "default" not in self.sla_hours:
            raise ValueError("sla_hours needs a default")
        return self

    def sla(self, policy: str | None) -> int:
        """Hours to decide an appeal about this policy."""
        return self.sla_hours.get(policy or "", self.sla_hours["default"])

    def public(self) -> dict[str, Any]:
        """The rules as published."""
        return self.model_dump()


def load_rules(path: Path, areas: list[str]) -> Rules:
    """Read and validate the rules; every policy named must exist and be in at most one tier."""
    try:
        rules = Rules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read ({exc})") from exc
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        raise RulesError(f"{path.name}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    seen: set[str] = set()
    for tier in rules.reinstatement.tiers:
        for policy in tier.policies:
            if policy not in areas:
                raise RulesError(f"{path.name}: reinstatement tier {tier.name} names unknown policy {policy}")
            if policy in seen:
                raise RulesError(f"{path.name}: policy {policy} is in two reinstatement tiers")
            seen.add(policy)
    unknown = sorted(set(rules.sla_hours) - set(areas) - {"default"})
    if unknown:
        raise RulesError(f"{path.name}: sla_hours names unknown policies {', '.join(unknown)}")
    return rules
