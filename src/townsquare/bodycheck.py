"""Refuse request bodies no field may hold, before any route parses them: NUL characters, lone
surrogates, and JSON nested deeper than any Townsquare document.

Each would otherwise fail far from the request: PostgreSQL cannot store U+0000, no database driver
(nor the JSON encoder of the response) can encode a lone surrogate, and a deeply nested document
exhausts Python's recursion limit in the parser. The checks are cheap when a body holds none of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

# A NUL in a body: JSON's \u0000 escape (an unescaped backslash), or %00 in a form.
_NUL_JSON = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# A UTF-16 surrogate escape (\ud800 to \udfff); a valid pair decodes to one character, a lone one stays.
_SURROGATE_JSON = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A JSON string, or one bracket: brackets inside strings do not nest anything.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_FORM = b"application/x-www-form-urlencoded"
# Batches validate item by item, so a bad character is that item's error and the others are stored.
ITEMISED = frozenset({"/v1/posts/batch"})
MAX_DEPTH = 32  # the deepest Townsquare document (a policy file as JSON) nests well under this

NUL = "contains a NUL character (U+0000)"
SURROGATE = "contains a lone surrogate (not valid Unicode)"
DEEP = f"nests arrays or objects deeper than {MAX_DEPTH} levels"


def _find(value: Any, path: tuple[str, ...], bad: re.Pattern[str]) -> str | None:
    """The dotted path of the first string (or key) matching `bad`, as validation errors name fields."""
    if isinstance(value, str):
        return (".".join(path) or "body") if bad.search(value) else None
    items: Iterable[tuple[Any, Any]] = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if isinstance(key, str) and bad.search(key):
            return ".".join((*path, bad.sub("", key))) or "body"
        found = _find(item, (*path, str(key)), bad)
        if found:
            return found
    return None


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects (brackets inside strings do not count)."""
    depth = deepest = 0
    for token in _TOKENS.findall(body):
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def bad_field(body: bytes, content_type: bytes, path: str = "") -> tuple[str, str] | None:
    """(field, what is wrong) for the first field of a JSON or form body no field may hold, or None."""
    if content_type.startswith(_FORM):
        if b"%00" not in body and b"\x00" not in body:
            return None
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        found = next((k.replace("\x00", "") or "body" for k, v in pairs if "\x00" in k + v), None)
        return (found, NUL) if found else None
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and json_depth(body) > MAX_DEPTH:
        return "body", DEEP
    nul, surrogate = _NUL_JSON.search(body), _SURROGATE_JSON.search(body)
    if (not nul and not surrogate) or path in ITEMISED:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None  # not JSON: the route's parser refuses it with its own clear error
    for hit, pattern, message in ((nul, re.compile("\x00"), NUL), (surrogate, _SURROGATE, SURROGATE)):
        found = _find(parsed, (), pattern) if hit else None
        if found:
            return found, message
    return None
