"""Text banks: per-policy lists of terms and patterns, matched against normalised text.

One YAML file per policy area in a directory (default `textbanks/`), named `<policy>.yaml`; the full
reference is `textbanks/README.md`:

    policy: scams_fraud              # policy area id; must equal the file name
    version: 1                       # int >= 1; bump it on every change, it is recorded with each signal
    description: Crypto-doubling, phishing and advance-fee scams.
    auto_threshold: 0.95             # required; null = never acts alone, else the lowest score that may
    define:                          # optional named regex fragments, written <name> inside patterns
      coin: btc|bitcoin|eth
    terms:                           # phrases matched on whole words of the normalised text
      - double your bitcoin          # weight 1.0
      - {term: claim your prize, weight: 0.7}
    patterns:                        # regular expressions searched in the normalised text
      - {pattern: 'send \\d+ ?<coin> (?:and )?get \\d+', weight: 1.0}
    allow:                           # phrases that suppress matches overlapping them or just after them
      - scam alert

Terms are normalised like the text (`townsquare.detection.normalize`), so one spelling matches its
disguises, and repeated letters are tolerated ("haaate" matches "hate", "god" never matches "good").
Terms are looked up token by token in a dict. Patterns are prefiltered (as RE2 and Hyperscan do): the
literals every match must contain are read from each pattern's parse tree, one trie regex over all
banks' literals finds which occur in a post, and only patterns whose literals occur are searched. A post's
score for a bank is the highest weight among its matches that no allow phrase suppresses.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    ValidationError,
    field_validator,
)

from townsquare.detection.base import Signal
from townsquare.detection.normalize import normalize, runs_cover, squeeze, token_spans, tokens
from townsquare.detection.prefilter import LiteralIndex, required_literals

__all__ = ["MAX_EVIDENCE", "TextBank", "TextBankScorer", "load_textbanks", "scan_all"]

MAX_EVIDENCE = 5
# Negation and counter-speech govern a few words after them, up to the end of the clause (NegEx-style).
ALLOW_SCOPE_TOKENS = 4
_CLAUSE_BREAK = re.compile(r"[.!?;]|\b(?:but|however|although|though|yet)\b")
_EMPTY_PROBES = ("", " ", "a", "a b", "1", ".")  # a pattern matching "" in any of these matches everywhere
_DEFINE_REF = re.compile(r"(?<!\?P)(?<!\\)<([a-z_][a-z0-9_]*)>")


class _FieldError(ValueError):
    """A bank-level check that failed on one field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TermEntry(_Strict):
    """A phrase and the score a match gives."""

    term: str = Field(min_length=1)
    weight: StrictFloat = Field(default=1.0, gt=0.0, le=1.0)


class PatternEntry(_Strict):
    """A regular expression on normalised text and the score a match gives."""

    pattern: str = Field(min_length=1)
    weight: StrictFloat = Field(default=1.0, gt=0.0, le=1.0)


@dataclass(frozen=True, slots=True)
class _Phrase:
    """A term or allow phrase in matching form."""

    toks: tuple[str, ...]
    keys: tuple[str, ...]  # toks squeezed to single letters
    weight: float


@dataclass(frozen=True, slots=True)
class _Pattern:
    rx: re.Pattern[str]
    weight: float
    gate: frozenset[str] | None  # one of these occurs in every match; None: always search


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    start: int
    end: int
    weight: float


class _Prepared:
    """A text in matching form, shared by every bank that scans it."""

    __slots__ = ("norm", "toks", "keys", "keyset", "literals", "_spans")

    def __init__(self, text: str, index: LiteralIndex) -> None:
        self.norm = normalize(text)
        self.toks = tuple(tokens(self.norm))
        cache = _KEYS
        self.keys = tuple([cache[tok] if tok in cache else _key(tok) for tok in self.toks])
        self.keyset = frozenset(self.keys)
        self.literals = index.find(self.norm)
        self._spans: list[tuple[int, int]] | None = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens first..last (inclusive) in the normalised text."""
        if self._spans is None:
            self._spans = token_spans(self.norm)
        return self._spans[first][0], self._spans[last][1]


# Token -> matching key ("haate" -> "hate"); tokens follow Zipf's law, so a cache spares most squeezes.
_KEYS: dict[str, str] = {}


def _key(tok: str) -> str:
    if len(_KEYS) >= 100_000:
        _KEYS.clear()
    key = _KEYS[tok] = squeeze(tok, 1)
    return key


def _phrase(raw: str, weight: float, field: str) -> _Phrase:
    norm = normalize(raw)
    toks = tuple(tokens(norm))
    if not toks:
        raise _FieldError(field, f"{raw!r} has no letters or digits to match")
    return _Phrase(toks, tuple(tokens(squeeze(norm, 1))), weight)


class _PhraseIndex:
    """Phrases looked up by their first token's key: one dict probe per token of the text."""

    def __init__(self, phrases: Iterable[_Phrase]) -> None:
        self.by_first: dict[str, list[_Phrase]] = {}
        for p in phrases:
            self.by_first.setdefault(p.keys[0], []).append(p)
        for group in self.by_first.values():
            group.sort(key=lambda p: -len(p.keys))
        self.first = frozenset(self.by_first)

    def find(self, t: _Prepared) -> Iterable[tuple[_Phrase, int, int]]:
        """Yield (phrase, first token, last token) for every occurrence in `t`."""
        if self.first.isdisjoint(t.keyset):
            return
        keys, toks = t.keys, t.toks
        for i, k in enumerate(keys):
            for p in self.by_first.get(k, ()):
                n = len(p.keys)
                if keys[i : i + n] == p.keys and all(map(runs_cover, toks[i : i + n], p.toks)):
                    yield p, i, i + n - 1


class TextBank(_Strict):
    """One policy area's validated, compiled text bank."""

    policy: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    version: StrictInt = Field(ge=1)
    description: str = Field(min_length=1)
    auto_threshold: StrictFloat | None = Field(gt=0.0, le=1.0)
    define: dict[str, str] = Field(default_factory=dict)
    terms: tuple[TermEntry, ...] = ()
    patterns: tuple[PatternEntry, ...] = ()
    allow: tuple[str, ...] = ()

    # Pydantic private attributes cost a __getattr__ each; the hot path reads one plain object instead.
    _matcher: _Matcher = PrivateAttr()
    _hash: str = PrivateAttr()

    @field_validator("terms", mode="before")
    @classmethod
    def _term_shorthand(cls, v: Any) -> Any:
        return [{"term": x} if isinstance(x, str) else x for x in v] if isinstance(v, list) else v

    @field_validator("patterns", mode="before")
    @classmethod
    def _pattern_shorthand(cls, v: Any) -> Any:
        return [{"pattern": x} if isinstance(x, str) else x for x in v] if isinstance(v, list) else v

    def model_post_init(self, context: Any, /) -> None:
        """Compile terms, patterns and allow phrases; refuse anything that cannot match sensibly."""
        seen: dict[tuple[str, ...], int] = {}
        terms = []
        for i, t in enumerate(self.terms):
            p = _phrase(t.term, t.weight, f"terms[{i}].term")
            if p.keys in seen:
                raise _FieldError(f"terms[{i}].term", f"duplicates terms[{seen[p.keys]}] once normalised")
            seen[p.keys] = i
            terms.append(p)
        allow = [_phrase(a, 1.0, f"allow[{i}]") for i, a in enumerate(self.allow)]
        for name in self.define:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise _FieldError(f"define.{name}", "names are lower-case letters, digits and _")
            if _DEFINE_REF.search(self.define[name]):
                # Only patterns expand <name>; inside a define it would silently match the literal text.
                raise _FieldError(f"define.{name}", "a define cannot refer to another define")
        patterns = tuple(self._compile(i, p) for i, p in enumerate(self.patterns))
        self._matcher = _Matcher(self, terms, allow, patterns)
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        self._hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _compile(self, i: int, entry: PatternEntry) -> _Pattern:
        field = f"patterns[{i}].pattern"

        def expand(m: re.Match[str]) -> str:
            if m.group(1) not in self.define:
                raise _FieldError(field, f"<{m.group(1)}> is not in define")
            return f"(?:{self.define[m.group(1)]})"

        try:
            rx = re.compile(_DEFINE_REF.sub(expand, entry.pattern))
        except re.error as exc:
            raise _FieldError(field, f"invalid regular expression {entry.pattern!r}: {exc}") from exc
        if any(m.start() == m.end() for probe in _EMPTY_PROBES for m in rx.finditer(probe)):
            raise _FieldError(
                field, f"{entry.pattern!r} matches the empty string, so it would match every post"
            )
        return _Pattern(rx, entry.weight, required_literals(rx))

    @property
    def content_hash(self) -> str:
        """sha256 of the bank's canonical JSON (sorted keys), recorded so a decision can be replayed."""
        return self._hash

    @property
    def scorer_name(self) -> str:
        """The name signals from this bank carry."""
        return f"textbank.{self.policy}"

    @classmethod
    def from_mapping(cls, data: Any, source: str | Path = "<mapping>") -> TextBank:
        """Validate a parsed bank; errors are `ValueError`s naming `source` and the field."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: a text bank must be a mapping with policy, version, ...")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"{source}: {_describe(exc)}") from exc

    @classmethod
    def from_file(cls, path: Path) -> TextBank:
        """Load and validate one bank file."""
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from exc
        bank = cls.from_mapping(data, path)
        if bank.policy != path.stem:
            raise ValueError(
                f"{path}: field 'policy': {bank.policy!r} must match the file name {path.stem!r}"
            )
        return bank

    def match(self, text: str) -> Signal | None:
        """Normalise `text` and match this bank alone; None when nothing matched."""
        m = self._matcher
        return m.scan(_Prepared(text, m.index))


class _Matcher:
    """A bank compiled for matching: plain attributes, read once per post per bank."""

    __slots__ = ("name", "version", "policy", "label", "terms", "allow", "patterns", "literals", "always",
                 "index")  # fmt: skip

    def __init__(
        self, bank: TextBank, terms: list[_Phrase], allow: list[_Phrase], patterns: tuple[_Pattern, ...]
    ):
        self.name, self.version, self.policy = bank.scorer_name, str(bank.version), bank.policy
        self.label = f"{bank.scorer_name}@{bank.version}"
        self.terms = _PhraseIndex(terms)
        self.allow = _PhraseIndex(allow) if allow else None
        self.patterns = patterns
        self.literals = frozenset(lit for p in patterns if p.gate for lit in p.gate)
        self.always = any(p.gate is None for p in patterns)  # some pattern has no literal to gate on
        self.index = LiteralIndex(self.literals)

    def scan(self, t: _Prepared) -> Signal | None:
        """Match one prepared text."""
        hits = [_Hit("term", *t.span(a, b), p.weight) for p, a, b in self.terms.find(t)]
        if self.always or not self.literals.isdisjoint(t.literals):
            for p in self.patterns:
                if p.gate is None or not p.gate.isdisjoint(t.literals):
                    hits.extend(_Hit("pattern", m.start(), m.end(), p.weight) for m in p.rx.finditer(t.norm))
        if hits and self.allow is not None:
            hits = self._unsuppressed(t, hits, self.allow)
        if not hits:
            return None
        hits.sort(key=lambda h: (-h.weight, h.start))
        evidence: list[dict[str, Any]] = []
        for h in hits:
            item = {"kind": h.kind, "match": t.norm[h.start : h.end], "bank": self.label}
            if item not in evidence:
                evidence.append(item)
        return Signal(
            self.name, self.version, self.policy, hits[0].weight, "match", tuple(evidence[:MAX_EVIDENCE])
        )

    @staticmethod
    def _unsuppressed(t: _Prepared, hits: list[_Hit], allow: _PhraseIndex) -> list[_Hit]:
        """Drop hits that overlap an allow phrase or start within its scope (a few words, same clause)."""
        scopes = [t.span(a, b) for _, a, b in allow.find(t)]

        def allowed(h: _Hit) -> bool:
            for start, end in scopes:
                if h.start < end and h.end > start:
                    return True
                if h.start >= end:
                    gap = t.norm[end : h.start]
                    if len(tokens(gap)) <= ALLOW_SCOPE_TOKENS and not _CLAUSE_BREAK.search(gap):
                        return True
            return False

        return [h for h in hits if not allowed(h)] if scopes else hits


def _describe(exc: ValidationError) -> str:
    """The first validation error as "field 'x[1].y': message"."""
    err = exc.errors()[0]
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, _FieldError):
        return str(cause)
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    msg = "is required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
    return f"field {loc!r}: {msg}" if loc else msg


class TextBankScorer:
    """A text bank as a `Scorer`: name `textbank.<policy>`, version = the bank's version."""

    def __init__(self, bank: TextBank) -> None:
        self.bank = bank
        self.name = bank.scorer_name
        self.version = str(bank.version)
        self.auto_threshold = bank.auto_threshold
        self._matcher = bank._matcher

    def score(self, text: str) -> Signal | None:
        """Normalise `text` and match this bank; None when nothing matched."""
        return self._matcher.scan(_Prepared(text, self._matcher.index))


def load_textbanks(directory: Path) -> dict[str, TextBank]:
    """Load every `*.yaml` bank in `directory`, keyed by policy."""
    if not directory.is_dir():
        raise NotADirectoryError(f"text bank directory {directory} does not exist")
    return {bank.policy: bank for bank in map(TextBank.from_file, sorted(directory.glob("*.yaml")))}


# Matchers and one literal index per set of banks scanned together (keyed by the banks' ids; the entry
# holds the banks, so an id cannot be reused while it is cached).
_SETS: dict[tuple[int, ...], tuple[tuple[TextBank, ...], list[_Matcher], LiteralIndex]] = {}


def _compiled(banks: tuple[TextBank, ...]) -> tuple[list[_Matcher], LiteralIndex]:
    key = tuple(map(id, banks))
    entry = _SETS.get(key)
    if entry is None:
        if len(_SETS) >= 32:  # banks reloaded many times (tests, hot reload): start afresh
            _SETS.clear()
        matchers = [b._matcher for b in banks]
        entry = _SETS[key] = (banks, matchers, LiteralIndex(set().union(*(m.literals for m in matchers))))
    return entry[1], entry[2]


def scan_all(banks: Mapping[str, TextBank] | Iterable[TextBank | TextBankScorer], text: str) -> list[Signal]:
    """Normalise `text` once and match every bank; one signal per bank that matched."""
    items = banks.values() if isinstance(banks, Mapping) else banks
    matchers, index = _compiled(tuple(i.bank if isinstance(i, TextBankScorer) else i for i in items))
    t = _Prepared(text, index)
    return [sig for m in matchers if (sig := m.scan(t)) is not None]
