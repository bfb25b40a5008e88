"""Readers for the shared datasets' file formats (headed CSV/TSV, headerless TSV, line-aligned text)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path


def dict_rows(path: Path, delimiter: str = ",", raw: bool = False) -> Iterator[dict[str, str]]:
    """Rows of a headed file; raw=True for the TSVs whose quote characters are part of the text."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        if raw:
            yield from csv.DictReader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        else:
            yield from csv.DictReader(fh, delimiter=delimiter)


def plain_rows(path: Path) -> Iterator[list[str]]:
    """Rows of a headerless tab-separated file whose quote characters are part of the text."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        yield from csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)


def text_lines(path: Path) -> list[str]:
    """The lines of a one-item-per-line file, split on LF only (a final newline ends the last line)."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines
