"""The claim matcher with its learnt thresholds (models/claims.json) and version."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from townsquare.detection.artifacts import ArtifactError, read_manifest, sha256_file
from townsquare.detection.claims import ClaimMatch, ClaimMatcher
from townsquare.detection.claims_stance import stance

CLAIMS_FILE = "claims.json"
SCREEN_FLOOR = 0.5  # share of the BM25 threshold below which a post cannot become a match anyway


@dataclass
class ClaimModel:
    """BM25 matching against the library, flagging at a threshold learnt from ordinary posts."""

    matcher: ClaimMatcher
    bm25_threshold: float
    version: str

    def match(self, texts: Sequence[str], k: int = 5) -> list[list[ClaimMatch]]:
        """The k most similar claims per text by BM25 (matches below the threshold included)."""
        return self.matcher.top(self.matcher.similarities(list(texts)), k)

    def screen(self, texts: Sequence[str], matches: list[list[ClaimMatch]]) -> list[list[ClaimMatch]]:
        """Discount each match by the post's stance toward its claim (a correction is not the claim).

        Only posts with a candidate match are read, so the cost is paid by the few that resemble a claim.
        """
        out = []
        floor = SCREEN_FLOOR * self.bm25_threshold
        for text, found in zip(texts, matches, strict=True):
            if any(m.probability is not None for m in found):
                out.append(found)  # the learnt verifier has already read this post (claims_verify)
                continue
            if all(m.method == "bm25" and m.similarity < floor for m in found):
                out.append(found)  # nowhere near a claim: nothing to discount
                continue
            # The stance is the post's, read against the claim it resembles most, and scales every match
            # alike: discounting only some matches would promote a worse claim over the one the post is about.
            st = stance(text, found[0].claim.text)
            screened = [
                replace(m, similarity=m.similarity * st.factor, stance=st.label, raw_similarity=m.similarity)
                for m in found
            ]
            out.append(screened)
        return out


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
