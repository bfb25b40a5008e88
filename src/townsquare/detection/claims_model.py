"""The claim matcher with its learnt thresholds (models/claims.json) and version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from townsquare.detection.artifacts import ArtifactError, read_manifest, sha256_file
from townsquare.detection.claims import ClaimMatch, ClaimMatcher

CLAIMS_FILE = "claims.json"


@dataclass
class ClaimModel:
    """BM25 matching against the library, flagging at a threshold learnt from ordinary posts."""

    matcher: ClaimMatcher
    bm25_threshold: float
    version: str

    def match(self, texts: Sequence[str], k: int = 5) -> list[list[ClaimMatch]]:
        """The k most similar claims per text by BM25 (matches below the threshold included)."""
        return self.matcher.top(self.matcher.similarities(list(texts)), k)


def load_claim_model(models_dir: Path, matcher: ClaimMatcher) -> ClaimModel:
    """Read the thresholds for the current claim library."""
    manifest = read_manifest(models_dir)
    path = models_dir / CLAIMS_FILE
    if CLAIMS_FILE not in manifest.files or not path.exists():
        raise ArtifactError(f"{path} is missing", "townsquare models train --only claims")
    if sha256_file(path) != manifest.files[CLAIMS_FILE]:
        raise ArtifactError(
            f"{path} does not match the checksum in the manifest", "townsquare models train --only claims"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        bm25 = float(data["bm25_threshold"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is unreadable ({exc})", "townsquare models train --only claims") from exc
    version = (
        f"{manifest.versions.get('claims', '1.0')}+{manifest.files[CLAIMS_FILE][:8]}.{matcher.digest[:6]}"
    )
    return ClaimModel(matcher, bm25, version)
