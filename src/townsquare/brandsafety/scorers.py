"""Suitability labels: the team's rule scorer, the mapping of detection signals and enforcement to GARM.

`RuleScorer` reads `rules.yaml` (format in its header) and grades a normalised text per category.
`label_post` merges three sources into one label per category, keeping the most severe risk:
the rule scorer, the detection signals stored for the post version (taxonomy.json `signals`), and
the actions in force on the post (the action's policy area mapped to categories, `action_risk`).
Every label carries its evidence: what matched, which scorer (with version) or which action.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from townsquare.brandsafety import taxonomy as tx
from townsquare.detection.base import Signal
from townsquare.detection.normalize import normalize
from townsquare.detection.prefilter import LiteralIndex, required_literals

RULES_FILE = Path(__file__).parent / "rules.yaml"
SCORER = "brandsafety.rules"
MAX_EVIDENCE = 5
_DEFINE_REF = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True, slots=True)
class Label:
    """One GARM category with its risk and the evidence for it."""

    category: str
    risk: str
    evidence: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """The classify contract: category id, name, risk, evidence."""
        return {
            "category": self.category,
            "name": tx.category_name(self.category),
            "risk": self.risk,
            "evidence": list(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class _Rule:
    rx: re.Pattern[str]
    gate: frozenset[str] | None  # literals one of which every match contains; None: always search


@dataclass
class _Category:
    negative: list[_Rule]
    floor: list[_Rule]
    high: list[_Rule]
    medium: list[_Rule]
    topic: list[_Rule]
    low: list[_Rule]
    count: list[tuple[_Rule, int, str]]
    default: str
    defer_to: tuple[str, ...] = ()
    gate: frozenset[str] = frozenset()  # every literal of every rule: a text with none skips the category
    always: bool = False  # some rule has no literal to gate on


def _expand(pattern: str, define: Mapping[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in define:
            raise ValueError(f"rules.yaml: <{name}> is not defined")
        return define[name]

    return _DEFINE_REF.sub(sub, pattern)


def _alternatives(body: str) -> list[str]:
    """The top-level alternatives of a regex body (split at "|" outside groups and classes)."""
    out, depth, cur, i = [], 0, [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            cur.append(body[i : i + 2])
            i += 2
            continue
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:  # the outer group closed inside: "\b(?:a)\b.{0,9}\b(?:b)\b" is not one list
                return [body]
        if ch == "|" and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    out.append("".join(cur))
    return out


def _rules(pattern: str, define: Mapping[str, str]) -> list[_Rule]:
    """One rule, or several when a long word list would leave it without literals to gate on.

    The prefilter gives up on more than 64 literals per pattern, so `\\b(?:w1|w2|...)\\b` with more
    words is split into chunks that each keep a literal gate: one trie pass instead of a search each.
    """
    text = _expand(pattern, define)
    rx = re.compile(text)
    gate = required_literals(rx)
    m = re.fullmatch(r"\\b\(\?:(.*)\)\\b", text, flags=re.S)
    if gate is not None or m is None:
        return [_Rule(rx, gate)]
    alts = _alternatives(m.group(1))
    if len(alts) < 2:
        return [_Rule(rx, gate)]
    out = []
    for i in range(0, len(alts), _CHUNK):
        part = re.compile(r"\b(?:" + "|".join(alts[i : i + _CHUNK]) + r")\b")
        out.append(_Rule(part, required_literals(part)))
    return out


_CHUNK = 24


def _rule(pattern: str, define: Mapping[str, str]) -> _Rule:
    rx = re.compile(_expand(pattern, define))
    return _Rule(rx, required_literals(rx))


class RuleScorer:
    """The rule scorer for every GARM category (loaded once per process; thread-safe to use)."""

    def __init__(self, path: Path = RULES_FILE) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.version = str(data["version"])
        self.label = f"{SCORER}@{self.version}"
        define = {k: "|".join(p.strip() for p in str(v).split("|")) for k, v in data["define"].items()}
        self.news = _rules(r"\b(?:<news>)\b", define)
        self.categories: dict[str, _Category] = {}
        for cat, spec in data["categories"].items():
            if cat not in tx.CATEGORIES:
                raise ValueError(f"rules.yaml: unknown category {cat}")

            def rules(key: str, spec: dict[str, Any] = spec) -> list[_Rule]:
                return [r for p in spec.get(key, []) for r in _rules(p, define)]

            self.categories[cat] = _Category(
                negative=rules("negative"),
                floor=rules("floor"),
                high=rules("high"),
                medium=rules("medium"),
                topic=rules("topic"),
                low=rules("low"),
                count=[
                    (_rule(c["pattern"], define), int(c["min"]), c["risk"]) for c in spec.get("count", [])
                ],
                default=spec.get("default", tx.MEDIUM),
                defer_to=tuple(spec.get("defer_to", ())),
            )
        for spec in self.categories.values():
            own = [*spec.negative, *spec.floor, *spec.high, *spec.medium, *spec.topic, *spec.low]
            own += [x[0] for x in spec.count]
            spec.gate = frozenset(lit for r in own if r.gate for lit in r.gate)
            spec.always = any(r.gate is None for r in own)
        every = [*self.news] + [
            r
            for c in self.categories.values()
            for r in (*c.negative, *c.floor, *c.high, *c.medium, *c.topic, *c.low, *(x[0] for x in c.count))
        ]
        self.index = LiteralIndex(lit for r in every if r.gate for lit in r.gate)

    def score(self, text: str, *, normalized: bool = False) -> list[Label]:
        """Labels for one text (raw, or already in matching form)."""
        norm = text if normalized else normalize(text)
        found = self.index.find(norm)
        news = _first(self.news, norm, found) is not None
        got: dict[str, Label] = {}
        for cat, spec in self.categories.items():
            if not spec.always and spec.gate.isdisjoint(found):
                continue  # no rule of this category can match
            label = self._grade(cat, spec, norm, found, news)
            if label is not None:
                got[cat] = label
        # A deferring category's label is dropped when a category it defers to is found at a risk at least
        # as severe: "terror attack, bodies everywhere" is terrorism; a beheading video stays at the floor.
        return [
            label
            for cat, label in got.items()
            if not any(
                o in got and tx.rank(got[o].risk) <= tx.rank(label.risk)
                for o in self.categories[cat].defer_to
            )
        ]

    def _grade(self, cat: str, spec: _Category, norm: str, found: frozenset[str], news: bool) -> Label | None:
        text = norm
        for rule in spec.negative:
            if _search(rule, text, found) is not None:
                text = rule.rx.sub(lambda m: " " * len(m.group()), text)
        for rule, least, risk in spec.count:
            if rule.gate is None or not rule.gate.isdisjoint(found):
                # Distinct words: "shit shit shit" is one word said three times, not a tirade.
                hits = list(dict.fromkeys(m.group() for m in rule.rx.finditer(text)))
                if len(hits) >= least:
                    return self._label(cat, risk, ", ".join(hits))
        for risk, rules in ((tx.FLOOR, spec.floor), (tx.HIGH, spec.high)):
            m = _first(rules, text, found)
            if m is not None:
                return self._label(cat, risk, m.group())
        m = _first(spec.topic, text, found)
        if m is None:
            return None
        if news or _first(spec.low, text, found) is not None:
            return self._label(cat, tx.LOW, m.group())
        if _first(spec.medium, text, found) is not None:
            return self._label(cat, tx.MEDIUM, m.group())
        return self._label(cat, spec.default, m.group())

    def _label(self, cat: str, risk: str, match: str) -> Label:
        return Label(cat, risk, ({"kind": "rule", "match": match.strip()[:80], "scorer": self.label},))


def _search(rule: _Rule, text: str, found: frozenset[str]) -> re.Match[str] | None:
    if rule.gate is not None and rule.gate.isdisjoint(found):
        return None
    return rule.rx.search(text)


def _first(rules: Sequence[_Rule], text: str, found: frozenset[str]) -> re.Match[str] | None:
    for rule in rules:
        m = _search(rule, text, found)
        if m is not None:
            return m
    return None


@lru_cache(maxsize=1)
def rule_scorer() -> RuleScorer:
    """The process's rule scorer (compiled once)."""
    return RuleScorer()


def signal_labels(signals: Iterable[Signal], auto_thresholds: Mapping[str, float | None]) -> list[Label]:
    """Labels from detection signals: a score from `min_score` gives the mapped risk, a score at the
    scorer's validated automatic-action threshold gives the `auto` risk (taxonomy.json `signals`)."""
    out = []
    for s in signals:
        spec = tx.SIGNALS.get(s.scorer)
        if spec is None or s.score < float(spec["min_score"]):
            continue
        auto = auto_thresholds.get(s.scorer)
        risk = spec["auto"] if "auto" in spec and auto is not None and s.score >= auto else spec["risk"]
        item: dict[str, Any] = {"kind": "signal", "scorer": f"{s.scorer}@{s.scorer_version}"}
        item["score"] = round(float(s.score), 4)
        matched = [e.get("match") for e in s.evidence if isinstance(e, dict) and e.get("match")]
        if matched:
            item["match"] = str(matched[0])[:80]
        out.append(Label(spec["category"], risk, (item,)))
    return out


def action_labels(actions: Iterable[tuple[str, str]]) -> list[Label]:
    """Labels from the actions in force on a post: (action type, policy area) pairs."""
    out = []
    for action, area in actions:
        risk = tx.ACTION_RISK.get(action)
        if risk is None:
            continue
        for cat in tx.POLICY_AREAS.get(area, []):
            out.append(Label(cat, risk, ({"kind": "action", "action": action, "policy": area},)))
    return out


def merge(*groups: Iterable[Label]) -> list[Label]:
    """One label per category: the most severe risk, with the evidence of every source that agrees."""
    best: dict[str, Label] = {}
    for group in groups:
        for label in group:
            have = best.get(label.category)
            if have is None or tx.rank(label.risk) < tx.rank(have.risk):
                evidence = label.evidence + (have.evidence if have else ())
                best[label.category] = Label(label.category, label.risk, evidence[:MAX_EVIDENCE])
            elif len(have.evidence) < MAX_EVIDENCE:
                extra = tuple(e for e in label.evidence if e not in have.evidence)
                best[label.category] = Label(have.category, have.risk, (have.evidence + extra)[:MAX_EVIDENCE])
    return [best[c] for c in tx.CATEGORY_IDS if c in best]
