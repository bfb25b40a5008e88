"""Text normalisation: the one "matching form" every text bank and fast model sees.

`normalize(text)` folds the usual evasions so a bank term written once matches its disguises:

1. lone surrogates become U+FFFD (they come from broken clients and would crash encoders later);
2. NFKD + case folding (full-width, mathematical and circled letters become plain ASCII);
3. zero-width and bidi control characters, soft hyphens and combining accents are deleted;
4. a small hand-written table folds Cyrillic/Greek look-alikes (and curly quotes, odd dashes) to ASCII;
5. NFC recomposes what is left (Hangul, scripts whose marks we keep);
6. whitespace collapses to single spaces;
7. three or more single letters separated by spaces, dots, hyphens, underscores or asterisks are
   joined ("h a t e", "h.a.t.e", "h-a-t-e" -> "hate");
8. leetspeak is folded only inside tokens where digits/symbols sit between letters, or a "$" leads
   (see `_fold_token`): "h4te" -> "hate", "k1ll" -> "kill", "$hit" -> "shit", while "2000",
   "covid19", "5g", "1st", "10am" and "@user" stay as they are;
9. runs of one letter longer than two are squeezed to two ("haaaate" -> "haate").

Matching tolerates step 9: compare `squeeze(x, 1)` of both sides and then check that the text's runs
are at least as long as the term's (`runs_cover`), so "haate" matches "hate" but "god" never matches
"good". Plain ASCII text skips the Unicode steps, which keeps the common case fast.

Side effect to know about: the look-alike table folds every Cyrillic/Greek letter in it, so Russian or
Greek words come out partly Latin ("сорок" -> "copok"). That is the matching form, never shown to
anyone; the banks are English and fold the same way.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["normalize", "runs_cover", "squeeze", "token_spans", "tokens"]

# Invisible characters used to split words without changing how they look.
_INVISIBLE = (
    [0x00AD, 0x061C, 0x180E, 0xFEFF]
    + list(range(0x200B, 0x2010))
    + list(range(0x202A, 0x202F))
    + list(range(0x2060, 0x2065))
    + list(range(0x2066, 0x206A))
)
# Combining diacritical mark blocks (accents, and "zalgo" stacking). Marks of other scripts
# (Devanagari vowel signs, Arabic harakat) are kept: deleting them would change the words.
_MARK_RANGES = ((0x0300, 0x0370), (0x1AB0, 0x1B00), (0x1DC0, 0x1E00), (0x20D0, 0x2100), (0xFE20, 0xFE30))

# Look-alikes after case folding; only letters that pass for Latin ones in common fonts.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "н": "h", "і": "i", "ї": "i", "ј": "j",
    "к": "k", "ӏ": "l", "м": "m", "о": "o", "р": "p", "ԛ": "q", "с": "c", "ѕ": "s", "т": "t",
    "у": "y", "ү": "y", "х": "x", "ԁ": "d", "ԝ": "w", "ѡ": "w", "ь": "b",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o",
    "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin-script oddities and Armenian
    "ɡ": "g", "ɑ": "a", "ı": "i", "ȷ": "j", "ʟ": "l", "օ": "o", "ս": "u", "ց": "g", "հ": "h",
    # Punctuation variants, so "don’t" and "don't" are one spelling
    "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u2032": "'", "`": "'", "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
}  # fmt: skip

_UNICODE_TABLE: dict[int, str | None] = {cp: None for cp in _INVISIBLE}
_UNICODE_TABLE.update({cp: None for lo, hi in _MARK_RANGES for cp in range(lo, hi)})
_UNICODE_TABLE.update({ord(k): v for k, v in _CONFUSABLES.items()})

_LEET_TABLE = str.maketrans(
    {"4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "5": "s", "$": "s", "7": "t", "@": "a", "8": "b",
     "9": "g", "|": "l"}
)  # fmt: skip
_EDGE_PUNCT = "!|@"  # at a token's edge these are punctuation or a mention, not leetspeak

_SURROGATE = re.compile("[\ud800-\udfff]")
# A run of >= 3 single characters (letter, digit or leet symbol) with 1-3 separators between them.
_CH = r"(?:[^\W_]|[@$!|])"  # a letter, digit or leet symbol ("_" is a separator here)
# Trailing/leading symbols ("h a t e!!") are punctuation, so only letters and digits block a run's ends.
_SPACED = re.compile(rf"(?<![^\W_]){_CH}(?:[ .*_~+\-]{{1,3}}{_CH}(?![^\W_])){{2,}}")
_SPACED_SEP = re.compile(r"[ .*_~+\-]+")
# Tokens that contain a digit or leet symbol; `_fold_token` decides whether they are leetspeak.
_LEET_TOKEN = re.compile(r"(?<![\w@$!|])[\w@$!|]*[\d@$!|][\w@$!|]*")
# Character classes for the cheap probes: letters "a", digits "1", leet symbols themselves, rest " ".
_LEET_CLASS = {c: " " for c in range(128)}
_LEET_CLASS.update({ord(c): "a" for c in "abcdefghijklmnopqrstuvwxyz"})
_LEET_CLASS.update({ord(c): "1" for c in "0123456789"})
_LEET_CLASS.update({ord(c): c for c in "@$!|"})
_LEET_PROBES = ("a1", "1a", "$a", "a$", "a@a", "a!a", "a|", "|a")
_WORD_CLASS = {c: "a" if v != " " else " " for c, v in _LEET_CLASS.items()}
_TRIPLE = re.compile(r"(\w)\1\1")
_LONG_RUN = re.compile(r"([^\W\d_])\1{2,}")
_ANY_RUN = re.compile(r"([^\W\d_])\1+")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_RUN = re.compile(r"(.)\1*")


def _join_spaced(m: re.Match[str]) -> str:
    """Join "h a t e" into "hate" when at least two of the characters are letters."""
    chars = _SPACED_SEP.sub("", m.group())
    if sum(c.isalpha() for c in chars) < 2:
        return m.group()  # "1 2 3", phone numbers, dates
    if len(chars) >= 4 and chars[0] in "ai":
        return f"{chars[0]} {chars[1:]}"  # "what a f a g" -> "what a fag": "a" and "i" are words
    return chars


def _fold_token(m: re.Match[str]) -> str:
    """Fold leetspeak in one token, unless the token looks like a number, version or ordinal."""
    tok = m.group()
    end = m.end()
    s = m.string
    # Part of a URL, domain or e-mail address ("bit.ly/3xk9", "j0hn@example.com"): leave it.
    if (
        (m.start() > 0 and s[m.start() - 1] in "/.:")
        or (end < len(s) and s[end] in "/:")
        or (end + 1 < len(s) and s[end] == "." and s[end + 1].isalnum())
    ):
        return tok
    core = tok.strip(_EDGE_PUNCT)
    if not core or core.isdigit() or not any(c.isalpha() for c in core):
        return tok
    # Runs of letters vs non-letters: "h4te" has 3, "covid19" 2, "5hit" 2.
    kinds = [c.isalpha() for c in core]
    runs = 1 + sum(a != b for a, b in zip(kinds, kinds[1:], strict=False))
    # Two runs is a number next to a word ("covid19", "mp3", "10am", "1st", "5g", "1btc"), not
    # leetspeak, except a leading "$" ("$hit").
    if runs == 2 and not (core[0] == "$" and kinds[1] and len(core) >= 4):
        return tok
    start = tok.index(core)
    return tok[:start] + core.translate(_LEET_TABLE) + tok[start + len(core) :]


def _unicode_fold(text: str) -> str:
    """Steps 1-5 for text that is not plain ASCII."""
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    text = unicodedata.normalize("NFKD", text).casefold()
    text = text.translate(_UNICODE_TABLE)
    return unicodedata.normalize("NFC", text)


def _maybe_spaced(text: str) -> bool:
    """Cheap necessary condition for `_SPACED` on ASCII text: two single characters between separators."""
    cls = f" {text.translate(_WORD_CLASS)} "
    return " a a " in cls or " a  a " in cls or " a   a " in cls


def _maybe_leet(text: str) -> bool:
    """Cheap necessary condition for a foldable leet token on ASCII text."""
    cls = text.translate(_LEET_CLASS)
    return any(probe in cls for probe in _LEET_PROBES)


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return the matching form of `text` (see the module docstring for the steps).

    Cached: the text banks, the fast models, brand safety and campaign detection each normalise the
    same post on the decision path.
    """
    text = text.lower() if text.isascii() else _unicode_fold(text)
    text = " ".join(text.split())
    # Plain ASCII (the bulk of traffic) first passes cheap substring probes; the regexes run only when
    # a probe says they might change something.
    plain = text.isascii()
    if not plain or _maybe_spaced(text):
        text = _SPACED.sub(_join_spaced, text)
    if not plain or _maybe_leet(text):
        text = _LEET_TOKEN.sub(_fold_token, text)
    if _TRIPLE.search(text):
        text = _LONG_RUN.sub(r"\1\1", text)
    return text


def squeeze(text: str, max_run: int = 1) -> str:
    """Squeeze runs of one letter to at most `max_run` (1 or 2): the key used for tolerant matching."""
    if max_run == 1:
        return _ANY_RUN.sub(r"\1", text)
    if max_run < 1:
        raise ValueError("max_run must be >= 1")
    return re.sub(rf"([^\W\d_])\1{{{max_run},}}", "\\1" * max_run, text)


def tokens(normalized: str) -> list[str]:
    """Split normalised text into word tokens; apostrophes are dropped ("don't" -> "dont")."""
    found = _TOKEN.findall(normalized)
    if "'" in normalized:
        return [t.replace("'", "") for t in found]
    return found


def token_spans(normalized: str) -> list[tuple[int, int]]:
    """Character spans of the tokens `tokens` returns, in order."""
    return [m.span() for m in _TOKEN.finditer(normalized)]


def runs_cover(text_token: str, term_token: str) -> bool:
    """True when `text_token` spells `term_token` with each letter repeated at least as often."""
    if text_token == term_token:
        return True
    text_runs = [m.group() for m in _RUN.finditer(text_token)]
    term_runs = [m.group() for m in _RUN.finditer(term_token)]
    if len(text_runs) != len(term_runs):
        return False
    return all(a[0] == b[0] and len(a) >= len(b) for a, b in zip(text_runs, term_runs, strict=True))
