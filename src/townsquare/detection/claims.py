"""Known false claims: the library in `claims/` and BM25 matching of posts against it.

Each claim is indexed by the stemmed, normalised words of its text. A post's BM25 score against a
claim is divided by the claim's score against itself, giving a similarity in [0, 1]: the share of
the claim's distinctive wording the post repeats. The matching threshold is learnt from ordinary
posts (see `townsquare.detection.training.claims_fit`) and kept in `models/claims.json`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from townsquare.detection.features import model_text

VERDICTS = ("false", "misleading", "unproven")
TOPIC_POLICY = {
    "election_procedures": "election_misinformation",
    "election_results": "election_misinformation",
    "health_vaccines": "health_misinformation",
    "health_covid": "health_misinformation",
    "health_general": "health_misinformation",
}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_REQUIRED = ("id", "text", "verdict", "source", "language")


class ClaimsError(ValueError):
    """The claims library is malformed; the message names the file, claim and field."""


@dataclass(frozen=True)
class Claim:
    """One known false claim, with the fact-check that rates it."""

    id: str
    text: str
    verdict: str
    source: str
    topic: str
    language: str
    # The fact-check's finding in one sentence (the truth a correction or a true procedure states); optional.
    # The claim verifier compares a post with both: a post closer to the truth than to the lie is not the lie.
    correction: str = ""

    @property
    def policy(self) -> str:
        """The policy area this claim's topic belongs to."""
        return TOPIC_POLICY[self.topic]


@dataclass(frozen=True)
class ClaimMatch:
    """A claim a post resembles, with how closely."""

    claim: Claim
    similarity: float  # after the stance discount (see claims_stance); what thresholds compare
    method: str  # bm25 | embedding
    stance: str = "asserts"  # asserts | refutes | asks | reports | unverified (the verifier said no, no cue)
    raw_similarity: float | None = None  # before the stance discount
    # The claim verifier's probability that the post asserts this claim (claims_verify); None when the
    # semantic tier is not installed and the rule-based stance screen decided instead.
    probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The public contract shape: {id, text, similarity, verdict, source}."""
        c = self.claim
        out: dict[str, Any] = {
            "id": c.id,
            "text": c.text,
            "similarity": round(self.similarity, 4),
            "verdict": c.verdict,
            "source": c.source,
            "topic": c.topic,
            "method": self.method,
            "stance": self.stance,
        }
        if self.probability is not None:
            out["probability"] = round(self.probability, 4)
        return out


def _claim(path: Path, topic: str, raw: Any, index: int) -> Claim:
    where = f"{path.name}: claim {index + 1}"
    if not isinstance(raw, dict):
        raise ClaimsError(f"{where}: must be a mapping")
    for key in _REQUIRED:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ClaimsError(f"{where}: field {key!r} is required and must be text")
    if not _ID.match(raw["id"]):
        raise ClaimsError(f"{where}: field 'id' must be a lowercase slug, got {raw['id']!r}")
    if raw["verdict"] not in VERDICTS:
        raise ClaimsError(f"{where} ({raw['id']}): field 'verdict' must be one of {', '.join(VERDICTS)}")
    if not raw["source"].startswith("https://"):
        raise ClaimsError(f"{where} ({raw['id']}): field 'source' must be an https:// URL")
    correction = raw.get("correction", "")
    if not isinstance(correction, str):
        raise ClaimsError(f"{where} ({raw['id']}): field 'correction' must be text")
    return Claim(
        raw["id"],
        raw["text"].strip(),
        raw["verdict"],
        raw["source"],
        topic,
        raw["language"],
        correction.strip(),
    )


def load_claims(directory: Path) -> list[Claim]:
    """Every claim in `directory/*.yaml`, validated; ids must be unique across files."""
    if not directory.is_dir():
        raise ClaimsError(f"claims directory {directory} does not exist")
    claims: list[Claim] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ClaimsError(f"{path.name}: not valid YAML ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
            raise ClaimsError(f"{path.name}: needs a 'topic' and a 'claims' list")
        topic = data.get("topic")
        if topic != path.stem or topic not in TOPIC_POLICY:
            raise ClaimsError(
                f"{path.name}: field 'topic' must be the file name, one of {', '.join(TOPIC_POLICY)}"
            )
        for i, raw in enumerate(data["claims"]):
            claim = _claim(path, topic, raw, i)
            if claim.id in seen:
                raise ClaimsError(f"{path.name}: claim id {claim.id!r} is already used in {seen[claim.id]}")
            seen[claim.id] = path.name
            claims.append(claim)
    if not claims:
        raise ClaimsError(f"claims directory {directory} holds no claims")
    return claims


def claims_digest(claims: list[Claim]) -> str:
    """A short digest of the library's content (part of the claim matcher's version)."""
    h = hashlib.sha256()
    for c in claims:
        h.update("\x1f".join((c.id, c.text, c.verdict, c.source, c.topic, c.language)).encode())
        if c.correction:  # only when present, so a library without corrections keeps its digest
            h.update(b"\x1f" + c.correction.encode())
        h.update(b"\x1e")
    return h.hexdigest()[:12]


class ClaimMatcher:
    """BM25 retrieval over the claim library, with similarities normalised by each claim's self-score."""

    def __init__(self, claims: list[Claim]) -> None:
        import bm25s
        import Stemmer

        self.claims = claims
        self._stemmer = Stemmer.Stemmer("english")
        self._bm25s = bm25s
        corpus = self._tokens([c.text for c in claims])
        self.index = bm25s.BM25()
        self.index.index(corpus, show_progress=False)
        self.self_scores = np.array(
            [self.index.get_scores(toks.split())[i] for i, toks in enumerate(self._joined(corpus))],
            dtype=np.float32,
        )
        self.self_scores[self.self_scores <= 0] = 1.0
        self.digest = claims_digest(claims)

    def _tokens(self, texts: list[str]) -> Any:
        return self._bm25s.tokenize(
            [model_text(t) for t in texts], stopwords="english", stemmer=self._stemmer, show_progress=False
        )

    def _joined(self, tokenized: Any) -> list[str]:
        vocab = {v: k for k, v in tokenized.vocab.items()}
        return [" ".join(vocab[i] for i in ids) for ids in tokenized.ids]

    def similarities(self, texts: list[str]) -> np.ndarray:
        """BM25 similarity of every text to every claim (n_texts x n_claims), each in [0, 1]."""
        out = np.zeros((len(texts), len(self.claims)), dtype=np.float32)
        for row, text in enumerate(texts):
            toks = self._bm25s.tokenize(
                [model_text(text)],
                stopwords="english",
                stemmer=self._stemmer,
                show_progress=False,
                return_ids=False,
            )[0]
            if toks:
                out[row] = self.index.get_scores(toks)
        return np.minimum(out / self.self_scores, 1.0)

    def top(self, sims: np.ndarray, k: int = 5, method: str = "bm25") -> list[list[ClaimMatch]]:
        """The k most similar claims for each row of a similarity matrix (zero similarities dropped)."""
        out = []
        for row in sims:
            idx = np.argsort(-row, kind="stable")[:k]
            out.append([ClaimMatch(self.claims[i], float(row[i]), method) for i in idx if row[i] > 0])
        return out
