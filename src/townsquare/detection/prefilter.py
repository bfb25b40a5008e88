"""Literal prefilter for regular expressions, the idea RE2 and Hyperscan use to skip most searches.

`required_literals(rx)` reads a compiled pattern's parse tree and returns a set of strings at least one
of which occurs in every match (or None when it cannot find one worth having). `LiteralIndex` finds, in
one regex pass over a trie, which of many such literals occur in a text. A pattern whose literals do not
occur cannot match, so the caller skips it: most posts then cost one trie pass instead of one search
per pattern. The parse tree comes from `re._parser`, CPython's own; if its shape ever changes the
extraction returns None and callers simply search every pattern.
"""

from __future__ import annotations

import re
import re._constants as sre
import re._parser as sre_parser
from collections.abc import Iterable
from typing import Any

__all__ = ["LiteralIndex", "required_literals"]

_MIN_LITERAL = 3  # shorter literals occur in almost every post and would gate nothing
_MAX_SET = 64
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_Node = tuple[Any, Any]


def _product(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None or b is None or len(a) * len(b) > _MAX_SET:
        return None
    return frozenset(x + y for x in a for y in b)


def _exact(node: _Node) -> frozenset[str] | None:
    """The small finite set of strings `node` matches, or None."""
    op, av = node
    if op is sre.LITERAL:
        return frozenset([chr(av).lower()])
    if op in _ZERO_WIDTH:
        return frozenset([""])
    if op is sre.IN and all(o is sre.LITERAL for o, _ in av):
        return frozenset(chr(c).lower() for _, c in av)
    if op is sre.SUBPATTERN:
        return _exact_seq(av[3])
    if op is sre.BRANCH:
        alts = [_exact_seq(a) for a in av[1]]
        if any(a is None for a in alts) or sum(map(len, alts)) > _MAX_SET:  # type: ignore[arg-type]
            return None
        return frozenset().union(*alts)  # type: ignore[arg-type]
    if op in _REPEATS and av[0] <= 1 and av[1] == 1:
        body = _exact_seq(av[2])
        return None if body is None else body | ({""} if av[0] == 0 else set())
    return None


def _exact_seq(seq: Iterable[_Node]) -> frozenset[str] | None:
    out: frozenset[str] | None = frozenset([""])
    for node in seq:
        out = _product(out, _exact(node))
    return out


def _better(cand: frozenset[str] | None, best: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two literal sets: longest shortest member, then fewest members."""
    if not cand or min(map(len, cand)) < _MIN_LITERAL:
        return best
    # A member containing another member adds nothing: wherever it occurs, the shorter one does too.
    cand = frozenset(a for a in cand if not any(b != a and b in a for b in cand))
    if best is None or (min(min(map(len, cand)), 8), -len(cand)) > (min(min(map(len, best)), 8), -len(best)):
        return cand
    return best


def _required(seq: Iterable[_Node]) -> frozenset[str] | None:
    """A set of literals at least one of which occurs in every match of `seq` (None: none found)."""
    best: frozenset[str] | None = None
    run: frozenset[str] | None = frozenset([""])  # exact strings of the current run of exact nodes
    for node in seq:
        exact = _exact(node)
        joined = _product(run, exact)
        if joined is not None:
            run = joined
            continue
        best = _better(run, best)
        run = exact if exact is not None else frozenset([""])
        if exact is not None:
            continue
        op, av = node
        if op is sre.SUBPATTERN:
            best = _better(_required(av[3]), best)
        elif op is sre.ATOMIC_GROUP:
            best = _better(_required(av), best)
        elif op in _REPEATS and av[0] >= 1:
            best = _better(_required(av[2]), best)
        elif op is sre.BRANCH:
            alts = [_required(a) for a in av[1]]
            if all(alts):
                best = _better(frozenset().union(*alts), best)  # type: ignore[arg-type]
    return _better(run, best)


def required_literals(rx: re.Pattern[str]) -> frozenset[str] | None:
    """Literals one of which every match of `rx` contains (lower-cased), or None if there are none."""
    try:
        return _required(sre_parser.parse(rx.pattern, rx.flags))
    except Exception:  # the private parser changed shape: fall back to always searching
        return None


class LiteralIndex:
    """Finds which of a set of literals occur in a text, in one regex pass over a trie."""

    def __init__(self, literals: Iterable[str]) -> None:
        lits = sorted(set(literals))
        # The lookahead visits every position; the trie yields the longest literal starting there, and
        # `prefixes` restores the shorter literals that start at the same place.
        self._rx = re.compile(f"(?=({_trie(lits)}))") if lits else None
        self._prefixes = {a: frozenset(b for b in lits if a.startswith(b)) for a in lits}

    def find(self, text: str) -> frozenset[str]:
        """The literals that occur in `text`."""
        found = self._rx.findall(text) if self._rx else None
        if not found:
            return frozenset()
        return frozenset().union(*(self._prefixes[f] for f in found))


def _trie(words: Iterable[str]) -> str:
    root: dict[str, Any] = {}
    for w in words:
        node = root
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"
        return f"(?:{body})?" if "" in node else body

    return emit(root)
