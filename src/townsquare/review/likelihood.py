"""Calibrated likelihood that a case's content violates, for its priority.

A scorer's probability is calibrated on balanced validation data; on a stream where 5% of posts violate,
a case opened at a given score is upheld far less often than the score says, and by how much differs from
one (policy, scorer) to another. `bench/calibrate_routing.py` fits, on validation rows reweighted to the
base rate, the share of violating posts at each score of each live rule (isotonic) and writes the
breakpoints to `likelihood.json` with a fingerprint of the model artifacts it scored with. Priority reads
the likelihood from here when the fingerprint matches the models loaded; after a retraining (another
fingerprint) it falls back to the raw score until the calibration is run again. The fingerprint covers
only the artifacts that make the review signals' scores (`SCORING`: the fast heads, the semantic tier,
the claim library and its verifier); a model that feeds no case-opening signal (brand safety) can change
without silently turning the calibration off.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

LIKELIHOOD_FILE = Path(__file__).resolve().with_name("likelihood.json")


# Manifest entries whose change changes a review signal's score (and so the calibration).
SCORING = ("fast/", "semantic/", "claims.json")


def fingerprint(files: dict[str, str]) -> str:
    """A short fingerprint of the scoring artifacts in a model manifest's files (name -> sha256)."""
    scoring = sorted((k, v) for k, v in files.items() if k.startswith(SCORING))
    return hashlib.sha256(json.dumps(scoring).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Likelihood:
    """Per "policy|scorer": score breakpoints and the calibrated share of violating posts at each."""

    base_rate: float
    rules: dict[str, tuple[np.ndarray, np.ndarray]]

    def of(self, policy: str | None, scorer: str | None, score: float) -> float | None:
        """The calibrated likelihood of a case opened by `scorer` for `policy` at `score` (None: unknown)."""
        found = self.rules.get(f"{policy}|{scorer}")
        if found is None:
            return None
        xs, ys = found
        return float(np.interp(score, xs, ys))


def parse(doc: dict[str, Any]) -> Likelihood:
    """A Likelihood from the file's JSON."""
    rules = {}
    for key, points in doc["rules"].items():
        if points:
            xs, ys = zip(*points, strict=True)
            rules[key] = (np.asarray(xs, dtype=float), np.asarray(ys, dtype=float))
    return Likelihood(float(doc["base_rate"]), rules)


@lru_cache(maxsize=8)
def _load(path: Path, models: str) -> Likelihood | None:
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    if doc.get("models") != models:
        return None
    return parse(doc)


def for_models(manifest_files: dict[str, str] | None, path: Path = LIKELIHOOD_FILE) -> Likelihood | None:
    """The calibration for the models loaded (None: no models, no file, or another models' file)."""
    if not manifest_files:
        return None
    return _load(path, fingerprint(manifest_files))
