"""Policy-matched ground truth: which live policy, if any, each dataset text breaks.

`bench/ground_truth.yaml` maps every dataset's classes to a policy area, `none` or `ambiguous` (the
mapping is data; this module only reads the datasets with the metadata the mapping needs: OLID's levels
B and C, Davidson's three classes, the smishing set's three classes, LIAR's subject tags and rating).
Texts are keyed as `townsquare.detection.training.datasets` keys them (the same cleaning), so the
benchmark's test-split texts find their labels here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from townsquare.config import PROJECT_ROOT
from townsquare.datafiles import plain_rows
from townsquare.detection.training import datasets as ds

MAPPING_FILE = Path(__file__).resolve().parent / "ground_truth.yaml"
POLICIES_DIR = PROJECT_ROOT / "policies"
NONE, AMBIGUOUS = "none", "ambiguous"


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled row of one dataset: its class name and, for rule-mapped datasets, its metadata."""

    dataset: str
    text: str
    cls: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Truth:
    """Every text's outcomes (policy areas, `none`, `ambiguous`) and the mapping that gave them."""

    outcomes: dict[str, set[str]]
    by_dataset: dict[str, Counter[str]]

    def policies(self, text: str) -> frozenset[str] | None:
        """The policies `text` breaks (empty: none); None when it is unknown, ambiguous or contested."""
        found = self.outcomes.get(text.strip())
        if not found:
            return None
        areas = found - {NONE, AMBIGUOUS}
        if areas and NONE not in found:
            return frozenset(areas)
        if found == {NONE}:
            return frozenset()
        return None

    def contested(self, text: str) -> bool:
        """Labelled both with a policy and `none` by different rows."""
        found = self.outcomes.get(text.strip(), set())
        return NONE in found and bool(found - {NONE, AMBIGUOUS})


def load_mapping(path: Path = MAPPING_FILE) -> dict[str, Any]:
    """The mapping, checked: every outcome is `none`, `ambiguous` or an existing policy area."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    areas = {p.stem for p in POLICIES_DIR.glob("*.yaml")}
    allowed = areas | {NONE, AMBIGUOUS}
    for name, spec in doc["datasets"].items():
        outcomes = list((spec.get("classes") or {}).values())
        outcomes += [r["outcome"] for r in spec.get("rules", [])]
        if not outcomes:
            raise ValueError(f"{path}: dataset {name} maps nothing")
        for out in outcomes:
            if out not in allowed:
                raise ValueError(f"{path}: dataset {name}: {out!r} is not a policy area, none or ambiguous")
        for rule in spec.get("rules", []):
            if "statement" in rule["when"]:
                rule["when"]["pattern"] = re.compile(_pattern(rule["when"]["statement"]), re.IGNORECASE)
    return doc


def _pattern(text: str) -> str:
    # YAML folds a long pattern's lines with a space; a space right after `|` is an artefact of that.
    return re.sub(r"\|\s+", "|", re.sub(r"\s+\|", "|", text.strip()))


def _binary(part: ds.Part) -> Iterator[Row]:
    for split in (part.train, part.val, part.test):
        for r in split:
            yield Row(part.dataset, r.text, part.classes[r.label])


def _olid(d: Path) -> Iterator[Row]:
    def cls(r: dict[str, str]) -> str:
        if r.get("subtask_a") != "OFF":
            return "NOT"
        if r.get("subtask_b") == "UNT":
            return "OFF/UNT"
        return f"OFF/TIN/{r.get('subtask_c') or 'OTH'}"

    training = ds._olid_training(d)
    for r in ds._olid_test(d):
        yield Row("olid", r["tweet"].strip(), cls(r))
    for tweet, r in training.items():
        yield Row("olid", tweet, cls(r))
    # TweetEval-offensive writes OLID's "@USER" as "@user": the same tweets, keyed as TweetEval has them.
    for split in ("train", "val"):
        for t in ds._tweeteval_offensive_split(d, split):
            row = training.get(t.strip().replace("@user", "@USER"))
            if row is not None:
                yield Row("olid", t.strip(), cls(row))


def _davidson(d: Path) -> Iterator[Row]:
    hate = {r.text for r in ds._davidson_rows(d, {"0"}) if r.label}
    offensive = {r.text for r in ds._davidson_rows(d, {"1"}) if r.label}
    for r in ds._davidson_rows(d, {"2"}):
        cls = "hate_speech" if r.text in hate else "offensive_language" if r.text in offensive else "neither"
        yield Row("davidson-hate-offensive", r.text, cls)


def _smishing(d: Path) -> Iterator[Row]:
    smishing = {r.text for r in ds._smishing_rows(d, {"smishing"}) if r.label}
    for r in ds._smishing_rows(d, {"spam"}):
        cls = "smishing" if r.text in smishing else "spam" if r.label else "ham"
        yield Row("sms-smishing-5971", r.text, cls)


def _liar(d: Path) -> Iterator[Row]:
    root = d / "liar"
    for name in ("train", "valid", "test"):
        for r in plain_rows(root / f"{name}.tsv"):
            if len(r) > 3 and r[2].strip():
                subjects = [s.strip() for s in r[3].split(",") if s.strip()]
                yield Row("liar", r[2].strip(), r[1], {"subjects": subjects})


def _team(reader: Any) -> Any:
    return lambda d: _binary(reader(d))


READERS = {
    "olid": _olid,
    "davidson-hate-offensive": _davidson,
    "tweeteval-hate": lambda d: _binary(ds.tweeteval_hate(d)),
    "stormfront-hate": lambda d: _binary(ds.stormfront_hate(d)),
    "team-hate": _team(ds.team_hate),
    "team-threats": _team(ds.team_threats),
    "team-scams": _team(ds.team_scams),
    "constraint-covid19-fakenews": lambda d: _binary(ds.constraint_misinfo(d)),
    "coaid": lambda d: _binary(ds.coaid_misinfo(d)),
    "covid19-infodemic-en": lambda d: _binary(ds.infodemic_misinfo(d)),
    "liar": _liar,
    "sms-spam-collection": lambda d: _binary(ds.sms_spam(d)),
    "sms-smishing-5971": _smishing,
    "youtube-spam-collection": lambda d: _binary(ds.youtube_spam(d)),
}


def outcome(spec: dict[str, Any], row: Row) -> str:
    """The mapping's outcome for one row (KeyError names an unmapped class)."""
    if "classes" in spec:
        if row.cls not in spec["classes"]:
            raise KeyError(f"{row.dataset}: class {row.cls!r} is not in the ground-truth mapping")
        return str(spec["classes"][row.cls])
    for rule in spec["rules"]:
        when = rule["when"]
        if "labels" in when and row.cls not in when["labels"]:
            continue
        if "subjects_any" in when and not set(when["subjects_any"]) & set(row.meta.get("subjects", ())):
            continue
        if "pattern" in when and not when["pattern"].search(row.text):
            continue
        return str(rule["outcome"])
    raise KeyError(f"{row.dataset}: no rule matches class {row.cls!r}")


def build(data_dir: Path, mapping: dict[str, Any] | None = None) -> Truth:
    """Every dataset row's outcome under the mapping, by text."""
    mapping = mapping or load_mapping()
    outcomes: dict[str, set[str]] = {}
    by_dataset: dict[str, Counter[str]] = {}
    for name, spec in mapping["datasets"].items():
        counts: Counter[str] = Counter()
        for row in READERS[name](data_dir):
            got = outcome(spec, row)
            outcomes.setdefault(row.text.strip(), set()).add(got)
            counts[got] += 1
        by_dataset[name] = counts
    return Truth(outcomes, by_dataset)
