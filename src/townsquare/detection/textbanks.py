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
All banks' terms are looked up token by token in a dict, a single pass per post; each bank's patterns
are joined into one alternation that gates the per-pattern search, so a post that matches nothing costs
one regex search per bank. A post's score for a bank is the highest weight among its surviving matches.
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
from townsquare.detection.normalize import _TOKEN, normalize, runs_cover, squeeze, tokens

__all__ = ["MAX_EVIDENCE", "TextBank", "TextBankScorer", "load_textbanks", "scan_all"]

MAX_EVIDENCE = 5
# Negation and counter-speech govern a few words after them, up to the end of the clause (NegEx-style).
ALLOW_SCOPE_TOKENS = 4
_CLAUSE_BREAK = re.compile(r"[.!?;]|\b(?:but|however|although|though|yet)\b")
_DEFINE_REF = re.compile(r"(?<![\\?P])<([a-z_][a-z0-9_]*)>")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")


class _FieldError(ValueError):
    """A bank-level check that failed on one field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


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

    index: int
    text: str  # the normalised phrase
    toks: tuple[str, ...]
    keys: tuple[str, ...]  # toks squeezed to single letters
    weight: float


@dataclass(frozen=True, slots=True)
class _Hit:
    kind: str
    start: int
    end: int
    weight: float


class _Prepared:
    """A text in matching form, shared by every bank that scans it."""

    __slots__ = ("norm", "toks", "keys", "keyset", "_spans")

    def __init__(self, text: str) -> None:
        self.norm = normalize(text)
        self.toks = tuple(tokens(self.norm))
        self.keys = tuple(tokens(squeeze(self.norm, 1)))
        self.keyset = frozenset(self.keys)
        self._spans: list[tuple[int, int]] | None = None

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Character span of tokens first..last (inclusive) in the normalised text."""
        if self._spans is None:
            self._spans = [m.span() for m in _TOKEN.finditer(self.norm)]
        return self._spans[first][0], self._spans[last][1]


def _phrase(index: int, raw: str, weight: float, field: str) -> _Phrase:
    norm = normalize(raw)
    toks = tuple(tokens(norm))
    if not toks:
        raise _FieldError(field, f"{raw!r} has no letters or digits to match")
    return _Phrase(index, norm, toks, tuple(tokens(squeeze(norm, 1))), weight)


class _PhraseIndex:
    """Phrases looked up by their first token's key: one dict probe per token of the text."""

    def __init__(self, phrases: Iterable[_Phrase]) -> None:
        self.by_first: dict[str, list[_Phrase]] = {}
        for p in phrases:
            self.by_first.setdefault(p.keys[0], []).append(p)
        for group in self.by_first.values():
            group.sort(key=lambda p: -len(p.keys))  # longest first, so evidence shows the fullest phrase
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

    _terms: _PhraseIndex = PrivateAttr()
    _allow: _PhraseIndex = PrivateAttr()
    _regexes: tuple[re.Pattern[str], ...] = PrivateAttr()
    _gate: re.Pattern[str] | None = PrivateAttr()
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
        phrases: dict[str, int] = {}
        compiled_terms = []
        for i, t in enumerate(self.terms):
            p = _phrase(i, t.term, t.weight, f"terms[{i}].term")
            if p.keys in phrases:
                raise _FieldError(f"terms[{i}].term", f"duplicates terms[{phrases[p.keys]}] once normalised")
            phrases[p.keys] = i
            compiled_terms.append(p)
        self._terms = _PhraseIndex(compiled_terms)
        self._allow = _PhraseIndex(_phrase(i, a, 1.0, f"allow[{i}]") for i, a in enumerate(self.allow))
        for name in self.define:
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise _FieldError(f"define.{name}", "names are lower-case letters, digits and _")
        self._regexes = tuple(self._compile(i, p.pattern) for i, p in enumerate(self.patterns))
        self._gate = self._compile_gate()
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        self._hash = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _compile(self, i: int, raw: str) -> re.Pattern[str]:
        field = f"patterns[{i}].pattern"

        def expand(m: re.Match[str]) -> str:
            if m.group(1) not in self.define:
                raise _FieldError(field, f"<{m.group(1)}> is not in define")
            return f"(?:{self.define[m.group(1)]})"

        try:
            rx = re.compile(_DEFINE_REF.sub(expand, raw))
        except re.error as exc:
            raise _FieldError(field, f"invalid regular expression {raw!r}: {exc}") from exc
        if rx.search("") is not None:
            raise _FieldError(field, f"{raw!r} matches the empty string, so it would match every post")
        return rx

    def _compile_gate(self) -> re.Pattern[str] | None:
        """One alternation of all patterns: a post that fails it skips the per-pattern searches."""
        plain = [rx.pattern for rx in self._regexes if not _BACKREF.search(rx.pattern)]
        if len(plain) != len(self._regexes) or not plain:
            return None
        try:
            return re.compile("|".join(f"(?:{p})" for p in plain))
        except re.error:  # e.g. two patterns reuse a group name; fall back to searching each
            return None

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

    def scan(self, t: _Prepared) -> Signal | None:
        """Match this bank against a prepared text."""
        hits = [_Hit("term", *t.span(a, b), p.weight) for p, a, b in self._terms.find(t)]
        if self._regexes and (self._gate is None or self._gate.search(t.norm)):
            for rx, entry in zip(self._regexes, self.patterns, strict=True):
                hits.extend(_Hit("pattern", m.start(), m.end(), entry.weight) for m in rx.finditer(t.norm))
        if hits and self.allow:
            hits = self._unsuppressed(t, hits)
        if not hits:
            return None
        hits.sort(key=lambda h: (-h.weight, h.start))
        bank = f"{self.scorer_name}@{self.version}"
        evidence: list[dict[str, Any]] = []
        seen: set[str] = set()
        for h in hits:
            match = t.norm[h.start : h.end]
            if match not in seen and len(evidence) < MAX_EVIDENCE:
                seen.add(match)
                evidence.append({"kind": h.kind, "match": match, "bank": bank})
        return Signal(
            self.scorer_name, str(self.version), self.policy, hits[0].weight, "match", tuple(evidence)
        )

    def _unsuppressed(self, t: _Prepared, hits: list[_Hit]) -> list[_Hit]:
        """Drop hits that overlap an allow phrase or start within its scope (a few words, same clause)."""
        scopes = [t.span(a, b) for _, a, b in self._allow.find(t)]
        if not scopes:
            return hits

        def allowed(h: _Hit) -> bool:
            for start, end in scopes:
                if h.start < end and h.end > start:
                    return True
                if h.start >= end:
                    gap = t.norm[end : h.start]
                    if len(_TOKEN.findall(gap)) <= ALLOW_SCOPE_TOKENS and not _CLAUSE_BREAK.search(gap):
                        return True
            return False

        return [h for h in hits if not allowed(h)]


def _describe(exc: ValidationError) -> str:
    """The first validation error as "field 'x[1].y': message"."""
    err = exc.errors()[0]
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, _FieldError):
        return str(cause)
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(".")
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "missing":
        msg = "is required"
    return f"field {loc!r}: {msg}" if loc else msg


class TextBankScorer:
    """A text bank as a `Scorer`: name `textbank.<policy>`, version = the bank's version."""

    def __init__(self, bank: TextBank) -> None:
        self.bank = bank
        self.name = bank.scorer_name
        self.version = str(bank.version)
        self.auto_threshold = bank.auto_threshold

    def score(self, text: str) -> Signal | None:
        """Normalise `text` and match this bank; None when nothing matched."""
        return self.bank.scan(_Prepared(text))


def load_textbanks(directory: Path) -> dict[str, TextBank]:
    """Load every `*.yaml` bank in `directory`, keyed by policy."""
    if not directory.is_dir():
        raise NotADirectoryError(f"text bank directory {directory} does not exist")
    return {bank.policy: bank for bank in map(TextBank.from_file, sorted(directory.glob("*.yaml")))}


def scan_all(banks: Mapping[str, TextBank] | Iterable[TextBank | TextBankScorer], text: str) -> list[Signal]:
    """Normalise `text` once and match every bank; one signal per bank that matched."""
    items = banks.values() if isinstance(banks, Mapping) else banks
    t = _Prepared(text)
    signals = []
    for item in items:
        sig = (item.bank if isinstance(item, TextBankScorer) else item).scan(t)
        if sig is not None:
            signals.append(sig)
    return signals
