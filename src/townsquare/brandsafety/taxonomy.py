"""GARM categories (by IAB Content Taxonomy 3.1 id), risk levels, presets and mappings, kept as data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_DATA: dict[str, Any] = json.loads((Path(__file__).parent / "taxonomy.json").read_text(encoding="utf-8"))

VERSION: str = _DATA["version"]
CATEGORIES: dict[str, dict[str, str]] = _DATA["categories"]
CATEGORY_IDS: tuple[str, ...] = tuple(CATEGORIES)
RISKS: dict[str, dict[str, str]] = _DATA["risks"]
RISK_IDS: tuple[str, ...] = tuple(RISKS)  # bsr001 (floor) ... bsr004 (low)
FLOOR, HIGH, MEDIUM, LOW = RISK_IDS
PRESETS: dict[str, dict[str, str]] = _DATA["presets"]
POLICY_AREAS: dict[str, list[str]] = _DATA["policy_areas"]
ACTION_RISK: dict[str, str] = _DATA["action_risk"]
NEVER_ALLOWED_STATUS: frozenset[str] = frozenset(_DATA["never_allowed_status"])
FLOOR_STATUS: frozenset[str] = frozenset(_DATA["floor_status"])
NEVER_ALLOWED_STANDING: frozenset[str] = frozenset(_DATA["never_allowed_standing"])
SIGNALS: dict[str, dict[str, str]] = _DATA["signals"]
# A tolerance is the most severe risk an advertiser accepts in a category; "none" accepts no label at all.
NONE = "none"
TOLERANCES: tuple[str, ...] = (HIGH, MEDIUM, LOW, NONE)


def rank(risk: str) -> int:
    """1 (floor) .. 4 (low); 5 for "none" (a tolerance that accepts nothing)."""
    return 5 if risk == NONE else int(risk[3:])


def worse(a: str, b: str) -> str:
    """The more severe of two risks."""
    return a if rank(a) <= rank(b) else b


def category_name(category: str) -> str:
    """The IAB name of a category id."""
    return CATEGORIES[category]["name"]


def risk_name(risk: str) -> str:
    """floor, high, medium or low."""
    return RISKS[risk]["name"]


def preset_tolerance(preset: str) -> str:
    """The tolerance a preset applies to every category."""
    return PRESETS[preset]["tolerance"]
