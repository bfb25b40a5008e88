"""The one internal policy taxonomy, kept as data (taxonomy.json) and mapped to outside vocabularies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_DATA: dict[str, Any] = json.loads((Path(__file__).parent / "taxonomy.json").read_text(encoding="utf-8"))

AREAS: dict[str, dict[str, str]] = _DATA["areas"]
AREA_IDS: tuple[str, ...] = tuple(AREAS)
REPORT_REASONS: tuple[str, ...] = (*AREA_IDS, "other")
ACTIONS: tuple[str, ...] = tuple(_DATA["actions"])
AUTOMATABLE_ACTIONS: frozenset[str] = frozenset(_DATA["automatable_actions"])
ACCOUNT_ACTIONS: frozenset[str] = frozenset(_DATA["account_actions"])
POST_STATUS_FOR_ACTION: dict[str, str] = _DATA["post_status_for_action"]
MASTODON_ACCOUNT_ACTION: dict[str, str] = _DATA["mastodon_account_action"]


def severity_rank(action: str | None) -> int:
    """Position on the ladder (0 = no action)."""
    return 0 if action is None else ACTIONS.index(action) + 1


def area_title(area: str) -> str:
    """The human title of a policy area."""
    return AREAS.get(area, {}).get("title", area)
