"""The semantic tier: a fine-tuned all-MiniLM-L6-v2 (ONNX, int8) that re-scores what the fast tier is
unsure of, every high-reach post, and every post that might repeat a known false claim.

Cascade, per scorer: a post is re-scored when its fast probability lies within `band` log-odds of the
fast operating threshold, or when it has high reach. A re-scored post's probability is a logistic
combination of the fast and the semantic log-odds (fitted on validation); every other post keeps its
fast probability. The scorer's thresholds with the semantic tier installed are the cascade's, chosen
on validation like the fast tier's. Claims: posts whose best BM25 similarity reaches `candidate_floor`
(or that are re-scored anyway) are embedded and compared with the claims' embeddings by cosine.

Installed with `pip install .[semantic]` (onnxruntime, tokenizers); without it, or without the
artifact (`townsquare models train --only semantic`), the classifier runs on the fast tier alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection.artifacts import ArtifactError, read_manifest, sha256_file
from townsquare.detection.claims import Claim, ClaimMatch
from townsquare.detection.claims_verify import VerifyContext, load_verifier

MODEL_FILE = "semantic/model.onnx"
TOKENIZER_FILE = "semantic/tokenizer.json"
CALIBRATION_FILE = "semantic/calibration.json"
REBUILD = "townsquare models train --only semantic"
HEADS = ("hate", "abuse", "threat", "misinformation", "scam", "spam")


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))  # clipped: no overflow warning


class Encoder:
    """The ONNX model and its tokenizer: texts -> (unit embeddings, head logits)."""

    def __init__(
        self, model_path: Path, tokenizer_path: Path, max_len: int, threads: int | None = None
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.no_padding()
        self.max_len = max_len

    def run(self, texts: Sequence[str], batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings (n, dim) and logits (n, heads); texts are batched by length to save padding."""
        if not texts:
            return np.zeros((0, 384), np.float32), np.zeros((0, len(HEADS)), np.float32)
        enc = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(enc)), key=lambda i: len(enc[i].ids))
        emb: list[np.ndarray] = [np.empty(0)] * len(enc)
        logits: list[np.ndarray] = [np.empty(0)] * len(enc)
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            width = max(len(enc[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(enc[i].ids)
                ids[row, :n] = enc[i].ids
                mask[row, :n] = 1
            e, lg = self.session.run(["embedding", "logits"], {"input_ids": ids, "attention_mask": mask})
            for row, i in enumerate(idx):
                emb[i], logits[i] = e[row], lg[row]
        return np.stack(emb), np.stack(logits)


class SemanticTier:
    """The cascade's second stage (see the module docstring)."""

    def __init__(self, models_dir: Path, with_verifier: bool = True) -> None:
        manifest = read_manifest(models_dir)
        for name in (MODEL_FILE, TOKENIZER_FILE, CALIBRATION_FILE):
            path = models_dir / name
            if name not in manifest.files or not path.exists():
                raise ArtifactError(f"{path} is missing", REBUILD)
            if sha256_file(path) != manifest.files[name]:
                raise ArtifactError(f"{path} does not match the checksum in the manifest", REBUILD)
        self.calibration: dict[str, Any] = json.loads(
            (models_dir / CALIBRATION_FILE).read_text(encoding="utf-8")
        )
        self.encoder = Encoder(
            models_dir / MODEL_FILE, models_dir / TOKENIZER_FILE, int(self.calibration["max_len"])
        )
        self.version = f"{manifest.versions.get('semantic', '1.0')}+{manifest.files[MODEL_FILE][:12]}"
        stale = {
            name: version
            for name, version in self.calibration.get("fast_files", {}).items()
            if manifest.files.get(name) != version
        }
        if stale:
            raise ArtifactError(
                f"the semantic calibration was fitted to other fast weights ({', '.join(sorted(stale))})",
                "townsquare models train --only calibration",
            )
        self.claims: list[Claim] = []
        self.claim_vectors = np.zeros((0, 384), np.float32)
        self.correction_vectors = np.zeros((0, 384), np.float32)
        # Whether a post asserts the claim it resembles (None: not trained; the stance rules decide).
        self.verifier: Any = load_verifier(models_dir) if with_verifier else None

    def attach_claims(self, claims: list[Claim]) -> None:
        """Embed the claim library once, for cosine matching."""
        self.claims = claims
        self.claim_vectors = self.encoder.run([c.text for c in claims])[0]
        self.correction_vectors = self.encoder.run([c.correction or c.text for c in claims])[0]

    def head(self, name: str) -> dict[str, Any]:
        """The calibration of one head."""
        return dict(self.calibration["heads"][name])

    def threshold(self, name: str) -> float:
        """The cascade's operating threshold for a scorer."""
        return float(self.calibration["heads"][name]["threshold"])

    def auto_threshold(self, name: str) -> float | None:
        """The cascade's validated threshold for acting alone (None: never)."""
        value = self.calibration["heads"][name]["auto_threshold"]
        return None if value is None else float(value)

    def base_rate_threshold(self, name: str) -> dict[str, Any] | None:
        """The cascade's auto threshold validated at a stated base rate, when its calibration has one."""
        found = (self.calibration["heads"][name].get("auto_thresholds") or {}).get(name)
        return dict(found) if isinstance(found, dict) else None

    def semantic_probabilities(self, logits: np.ndarray) -> dict[str, np.ndarray]:
        """The semantic model's own calibrated probability per head."""
        out = {}
        for j, name in enumerate(HEADS):
            a, b = self.calibration["heads"][name]["platt"]
            out[name] = _sigmoid(a * logits[:, j] + b)
        return out

    def combine(self, name: str, p_fast: np.ndarray, p_sem: np.ndarray) -> np.ndarray:
        """The cascade probability of re-scored posts."""
        wf, ws, c = self.calibration["heads"][name]["combine"]
        return _sigmoid(wf * _logit(p_fast) + ws * _logit(p_sem) + c)

    def uncertain(self, name: str, p_fast: np.ndarray) -> np.ndarray:
        """Which fast probabilities are close enough to the fast threshold to re-score."""
        h = self.calibration["heads"][name]
        return np.abs(_logit(p_fast) - _logit(np.array(h["fast_threshold"]))) <= h["band"]

    def rescore(
        self,
        texts: Sequence[str],
        probs: dict[str, np.ndarray],
        matches: list[list[ClaimMatch]],
        high_reach: Sequence[bool] | None,
        bm25_threshold: float,
    ) -> tuple[dict[str, np.ndarray], list[list[ClaimMatch]], dict[str, np.ndarray]]:
        """Re-score the uncertain, high-reach and possible-claim posts.

        Returns the probabilities, the claim matches, and per scorer which posts took the cascade score.
        """
        n = len(texts)
        reach = np.array(list(high_reach) if high_reach is not None else [False] * n, dtype=bool)
        need = reach.copy()
        for name in HEADS:
            need |= self.uncertain(name, probs[name])
        floor = float(self.calibration["claims"]["candidate_floor"]) * bm25_threshold
        claim_need = np.array([bool(m) and m[0].similarity >= floor for m in matches], dtype=bool) | need
        idx = np.flatnonzero(need | claim_need)
        combined = {name: np.zeros(n, dtype=bool) for name in HEADS}
        if len(idx) == 0:
            return probs, matches, combined
        emb, logits = self.encoder.run([texts[int(i)] for i in idx])
        p_sem = self.semantic_probabilities(logits)
        out = {k: v.copy() for k, v in probs.items()}
        for name in HEADS:
            # Per scorer, only its own uncertain posts (and high-reach ones) take the combined score,
            # exactly as the cascade was calibrated.
            sel = self.uncertain(name, probs[name][idx]) | reach[idx]
            pos = idx[sel]
            out[name][pos] = self.combine(name, probs[name][pos], p_sem[name][sel])
            combined[name][pos] = True
        new_matches = list(matches)
        if len(self.claims):
            sims = emb @ self.claim_vectors.T
            ctx = self.verify_context(bm25_threshold)
            for row, i in enumerate(idx):
                if claim_need[i]:
                    new_matches[i] = self._merge(matches[i], sims[row], bm25_threshold)
                    if self.verifier is not None and new_matches[i]:
                        new_matches[i] = self.verifier.verify(
                            texts[int(i)], emb[row], logits[row], float(out["misinformation"][i]),
                            new_matches[i], matches[i], ctx,
                        )  # fmt: skip
        return out, new_matches, combined

    def verify_context(self, bm25_threshold: float) -> VerifyContext:
        """The library's embeddings and the matching thresholds, as the claim verifier reads them."""
        return VerifyContext(
            {c.id: j for j, c in enumerate(self.claims)},
            self.claim_vectors,
            self.correction_vectors,
            bm25_threshold,
            float(self.calibration["claims"]["embedding_threshold"]),
        )

    def _merge(
        self, bm25: list[ClaimMatch], cos: np.ndarray, bm25_threshold: float, k: int = 5
    ) -> list[ClaimMatch]:
        """BM25 and embedding candidates, ranked by how far each clears its own threshold."""
        t_emb = float(self.calibration["claims"]["embedding_threshold"])
        best: dict[str, tuple[float, ClaimMatch]] = {}
        for m in bm25:
            best[m.claim.id] = (m.similarity / bm25_threshold, m)
        for j in np.argsort(-cos)[:k]:
            m = ClaimMatch(self.claims[j], float(cos[j]), "embedding")
            key = float(cos[j]) / t_emb
            if m.claim.id not in best or key > best[m.claim.id][0]:
                best[m.claim.id] = (key, m)
        return [m for _, m in sorted(best.values(), key=lambda x: -x[0])][:k]


def load_semantic(models_dir: Path, with_verifier: bool = True) -> SemanticTier | None:
    """The semantic tier, or None when the extra or its artifact is not installed.

    `with_verifier=False` leaves out the claim verifier (to retrain it after the tier changed).
    """
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return None
    manifest = read_manifest(models_dir)
    if MODEL_FILE not in manifest.files:
        return None
    return SemanticTier(models_dir, with_verifier)
