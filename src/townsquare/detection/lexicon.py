"""Which protected group a text names: an identity-term lexicon matched on the normalised words."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from townsquare.detection.features import model_text
from townsquare.detection.normalize import tokens

LEXICON_FILE = Path(__file__).with_name("identity_terms.yaml")
CATEGORIES = (
    "race_ethnicity",
    "religion",
    "gender",
    "sexual_orientation",
    "gender_identity",
    "disability",
    "national_origin",
)


@dataclass(frozen=True)
class Mention:
    """One identity term found in a text."""

    category: str
    term: str
    position: int  # word index of its first word


class IdentityLexicon:
    """Whole-word (and word-sequence) matching of identity terms, longest first."""

    def __init__(self, terms: dict[str, list[str]]) -> None:
        unknown = sorted(set(terms) - set(CATEGORIES))
        if unknown:
            raise ValueError(f"unknown identity categories: {', '.join(unknown)}")
        self.by_words: dict[tuple[str, ...], str] = {}
        for category, items in terms.items():
            for term in items:
                key = tuple(tokens(model_text(term)))
                if key:
                    self.by_words.setdefault(key, category)
        self.max_len = max((len(k) for k in self.by_words), default=1)
        # Most words start no term: checking the first word first spares the longest-match loop.
        self.first_words = frozenset(k[0] for k in self.by_words)

    def mentions(self, text: str) -> list[Mention]:
        """Every identity term in the text, longest match first at each position."""
        words = tokens(model_text(text))
        out: list[Mention] = []
        i = 0
        while i < len(words):
            if words[i] not in self.first_words:
                i += 1
                continue
            for n in range(min(self.max_len, len(words) - i), 0, -1):
                key = tuple(words[i : i + n])
                category = self.by_words.get(key)
                if category is not None:
                    out.append(Mention(category, " ".join(key), i))
                    i += n
                    break
            else:
                i += 1
        return out

    def target(self, text: str) -> tuple[str | None, list[Mention]]:
        """The category named most often (ties: the one named first), or None, and the mentions."""
        found = self.mentions(text)
        if not found:
            return None, found
        counts = Counter(m.category for m in found)
        first = {m.category: m.position for m in reversed(found)}
        best = max(counts, key=lambda c: (counts[c], -first[c]))
        return best, found


@lru_cache(maxsize=1)
def default_lexicon() -> IdentityLexicon:
    """The lexicon shipped with Townsquare."""
    data = yaml.safe_load(LEXICON_FILE.read_text(encoding="utf-8"))
    return IdentityLexicon({k: [str(t) for t in v] for k, v in data.items()})
