"""Load and check policy files and the election calendar.

`load_policy_file` checks one file on its own (schema plus area rules); `load_policies` also checks every
non-retired version against the scorers' validated auto thresholds. A signal rule may name a scorer that
does not exist yet (a model added by a later release) only with `auto_threshold: null`: until the scorer
ships it produces no signals, so the rule is inert, and once it ships it can only route to review until a
new policy version gives it an auto threshold that is checked against the scorer's validation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from townsquare.policy.schema import ElectionCalendar, PolicyFile, PolicyVersion, State

Mode = Literal["live", "shadow"]


class PolicyError(ValueError):
    """A policy file that must not be loaded; names the file, version and field at fault."""

    def __init__(
        self, file: str | Path, message: str, *, version: int | str | None = None, field: str | None = None
    ) -> None:
        self.file = str(file)
        self.version = version
        self.field = field
        self.reason = message
        where = [self.file]
        if version is not None:
            where.append(f"version {version}")
        if field:
            where.append(field)
        super().__init__(f"{': '.join(where)}: {message}")


def canonical_json(area: str, policy: PolicyVersion) -> str:
    """Canonical JSON of one version (sorted keys, no whitespace); `state` is left out."""
    # The state moves (draft -> shadow -> live -> retired) while the rules stay the same, so it must not
    # change the hash the database uses to prove a version was never edited.
    body = {"area": area, **policy.model_dump(mode="json", exclude={"state"})}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class VersionSpec:
    """One policy version ready to evaluate: the rules plus the area they belong to and their hash."""

    area: str
    title: str
    policy: PolicyVersion
    content_hash: str
    content: str  # canonical JSON, as the database stores it

    @classmethod
    def build(
        cls, area: str, title: str, policy: PolicyVersion, resolved: PolicyVersion | None = None
    ) -> VersionSpec:
        """A spec for `policy`, computing its canonical JSON and sha256 content hash.

        `resolved`: the same version with `auto_threshold: validated` replaced by the numbers the models
        were validated to; the engine evaluates it, while the hash stays that of the declared rules.
        """
        content = canonical_json(area, policy)
        return cls(area, title, resolved or policy, hashlib.sha256(content.encode()).hexdigest(), content)

    @property
    def scorers(self) -> frozenset[str]:
        """The scorers this version reads."""
        return frozenset(rule.scorer for rule in self.policy.signals)

    @property
    def version(self) -> int:
        """The version number."""
        return self.policy.version

    @property
    def state(self) -> State:
        """The lifecycle state in the loaded file."""
        return self.policy.state


@dataclass(frozen=True)
class PolicySet:
    """Every loaded policy area and version, looked up by area and state."""

    files: Mapping[str, PolicyFile]
    _specs: dict[tuple[str, int], VersionSpec] = field(default_factory=dict, repr=False)
    _active: dict[str, list[VersionSpec]] = field(default_factory=dict, repr=False, compare=False)
    _digests: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    automation: Mapping[str, float | None] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_files(
        cls, files: Iterable[PolicyFile], automation: Mapping[str, float | None] | None = None
    ) -> PolicySet:
        """A set from already-validated files (one per area); `automation` resolves the rules whose
        auto threshold is `validated` (a scorer missing from it never acts alone)."""
        by_area: dict[str, PolicyFile] = {}
        specs: dict[tuple[str, int], VersionSpec] = {}
        for pf in files:
            if pf.area in by_area:
                raise PolicyError(pf.area, "area defined twice", field="area")
            by_area[pf.area] = pf
            for v in pf.versions:
                specs[(pf.area, v.version)] = VersionSpec.build(pf.area, pf.title, v, resolve(v, automation))
        return cls(dict(sorted(by_area.items())), specs, automation=dict(automation or {}))

    def areas(self) -> list[str]:
        """Area ids, sorted."""
        return list(self.files)

    def versions(self, area: str) -> list[VersionSpec]:
        """Every version of `area`, oldest first; KeyError for an unknown area."""
        return [self._specs[(area, v.version)] for v in self.files[area].versions]

    def version(self, area: str, version: int) -> VersionSpec:
        """One version of one area; KeyError when absent."""
        return self._specs[(area, version)]

    def live(self, area: str) -> VersionSpec | None:
        """The live version of `area`, if any."""
        return self._in_state(area, "live")

    def shadow(self, area: str) -> VersionSpec | None:
        """The shadow version of `area`, if any."""
        return self._in_state(area, "shadow")

    def content_hash(self, area: str, version: int) -> str:
        """sha256 (hex) of the canonical JSON of one version."""
        return self._specs[(area, version)].content_hash

    def shadow_areas(self) -> list[str]:
        """Areas that have a version in shadow."""
        return [a for a in self.files if self.shadow(a) is not None]

    def active(self, mode: Mode = "live") -> list[VersionSpec]:
        """The versions a decision evaluates: live ones, or in shadow mode each shadow over its live."""
        cached = self._active.get(mode)
        if cached is not None:
            return cached
        out = []
        for area in self.files:
            spec = (self.shadow(area) if mode == "shadow" else None) or self.live(area)
            if spec is not None:
                out.append(spec)
        self._active[mode] = out
        return out

    def digest(self, mode: Mode = "live") -> str:
        """A short fingerprint of the versions a decision in `mode` evaluates (recorded once as an event)."""
        if mode not in self._digests:
            parts = sorted(f"{s.area}@{s.version}:{s.content_hash}" for s in self.active(mode))
            self._digests[mode] = hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]
        return self._digests[mode]

    def with_states(self, states: Mapping[tuple[str, int], State]) -> PolicySet:
        """A copy whose versions take the given lifecycle states (the database's, after publishing)."""
        files = []
        for pf in self.files.values():
            versions = [
                v.model_copy(update={"state": states.get((pf.area, v.version), v.state)}) for v in pf.versions
            ]
            files.append(pf.model_copy(update={"versions": versions}))
        return PolicySet.from_files(files, self.automation)

    def _in_state(self, area: str, state: State) -> VersionSpec | None:
        for v in self.files[area].versions:
            if v.state == state:
                return self._specs[(area, v.version)]
        return None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(path, f"cannot read YAML: {exc}") from exc


def _format_loc(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_error(path: Path, raw: Any, exc: ValidationError) -> PolicyError:
    """The first validation error, with its version number instead of a list index."""
    errors = exc.errors()
    err = errors[0]
    loc = list(err["loc"])
    version: int | str | None = None
    if len(loc) >= 2 and loc[0] == "versions" and isinstance(loc[1], int):
        idx = loc[1]
        entries = raw.get("versions") if isinstance(raw, dict) else None
        entry = entries[idx] if isinstance(entries, list) and idx < len(entries) else None
        version = entry.get("version", f"#{idx}") if isinstance(entry, dict) else f"#{idx}"
        loc = loc[2:]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    return PolicyError(path, message + more, version=version, field=_format_loc(loc) or None)


def load_policy_file(path: str | Path) -> PolicyFile:
    """Read and validate one policy file (schema and area rules; scorers are checked by load_policies)."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise PolicyError(path, "a policy file must be a mapping with area, title and versions")
    try:
        pf = PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise _validation_error(path, raw, exc) from exc
    if pf.area != path.stem:
        raise PolicyError(path, f"area {pf.area!r} must match the file name {path.stem!r}", field="area")
    for v in pf.versions:
        _check_area_rules(path, pf.area, v)
    return pf


def _check_area_rules(path: Path, area: str, v: PolicyVersion) -> None:
    """Rules that span fields or are particular to an area, which the schema cannot express."""
    rule = v.context.election_period
    for i, s in enumerate(v.signals):
        if rule and isinstance(s.auto_threshold, float):
            if s.review_threshold * rule.review_multiplier > s.auto_threshold * rule.auto_multiplier:
                raise PolicyError(
                    path,
                    f"in an election period {s.scorer!r} review threshold would exceed its auto threshold",
                    version=v.version,
                    field=f"signals[{i}].review_threshold",
                )
    if area == "child_safety" and v.automation.enabled:
        # Child-safety reports must reach specialists (and, where the law requires, authorities);
        # no automated action may pre-empt that escalation.
        raise PolicyError(
            path, "child_safety must not enable automation", version=v.version, field="automation.enabled"
        )
    if area == "self_harm":
        # People posting about self-harm need support, not punishment.
        for i, step in enumerate(v.ladder):
            if step.action != "label":
                raise PolicyError(
                    path, "self_harm may only label", version=v.version, field=f"ladder[{i}].action"
                )
        if v.strikes.issue:
            raise PolicyError(
                path, "self_harm must not issue strikes", version=v.version, field="strikes.issue"
            )
        if v.support_message is None:
            raise PolicyError(
                path, "self_harm needs a support_message", version=v.version, field="support_message"
            )


def _check_thresholds(path: Path, v: PolicyVersion, validated: Mapping[str, float | None]) -> None:
    """Refuse any auto threshold laxer than the scorer's validated one."""
    multiplier = v.context.election_period.auto_multiplier if v.context.election_period else 1.0
    for i, rule in enumerate(v.signals):
        auto = rule.auto_threshold
        if auto is None or auto == "validated":
            continue  # "validated" resolves to the scorer's own validated number (see `resolve`)
        fld = f"signals[{i}].auto_threshold"
        if rule.scorer not in validated:
            raise PolicyError(
                path,
                f"scorer {rule.scorer!r} is not installed; a rule for it must have auto_threshold null",
                version=v.version,
                field=fld,
            )
        floor = validated[rule.scorer]
        if floor is None:
            raise PolicyError(
                path, f"scorer {rule.scorer!r} is validated to never act alone", version=v.version, field=fld
            )
        if auto < floor:
            raise PolicyError(
                path,
                f"{auto} is below {rule.scorer!r}'s validated auto_threshold {floor}",
                version=v.version,
                field=fld,
            )
        if auto * multiplier < floor:
            raise PolicyError(
                path,
                f"election period lowers {rule.scorer!r} to {auto * multiplier:.4f}, below validated {floor}",
                version=v.version,
                field="context.election_period.auto_multiplier",
            )


def resolve(v: PolicyVersion, automation: Mapping[str, float | None] | None) -> PolicyVersion | None:
    """`v` with each `auto_threshold: validated` replaced by the scorer's base-rate-validated threshold
    (never below the rule's review threshold), or None where no model validation exists; None when `v`
    has no such rule."""
    if not any(s.auto_threshold == "validated" for s in v.signals):
        return None
    known = automation or {}
    signals = []
    for s in v.signals:
        if s.auto_threshold == "validated":
            value = known.get(s.scorer)
            s = s.model_copy(
                update={"auto_threshold": None if value is None else max(value, s.review_threshold)}
            )
        signals.append(s)
    return v.model_copy(update={"signals": signals})


def load_policies(
    directory: Path,
    scorer_auto_thresholds: Mapping[str, float | None],
    automation: Mapping[str, float | None] | None = None,
) -> PolicySet:
    """Load every `*.yaml` policy in `directory`, refusing thresholds laxer than the scorers allow;
    `automation` holds the base-rate-validated thresholds that `auto_threshold: validated` reads."""
    directory = Path(directory)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise PolicyError(directory, "no policy files (*.yaml) found")
    files = []
    for path in paths:
        pf = load_policy_file(path)
        for v in pf.versions:
            # Retired versions never run again, and may predate the scorers' current validation.
            if v.state != "retired":
                _check_thresholds(path, v, scorer_auto_thresholds)
        files.append(pf)
    return PolicySet.from_files(files, automation)


def load_election_calendar(path: str | Path) -> ElectionCalendar:
    """Read and validate the election calendar (`elections.yaml`; format: `townsquare.elections`)."""
    from townsquare.elections.calendar import ElectionsFileError, load_calendar

    try:
        return load_calendar(path)
    except ElectionsFileError as exc:
        raise PolicyError(path, str(exc), field=exc.field) from exc
