"""Load the classifier once per process (it holds ~40 MB of weights; tests build many runtimes)."""

from __future__ import annotations

import threading
from pathlib import Path

from townsquare.config import Settings
from townsquare.detection.artifacts import MANIFEST
from townsquare.detection.classify import Classifier

_lock = threading.Lock()
_cache: dict[tuple[Path, Path, float, bool], Classifier] = {}


def load_classifier(settings: Settings) -> Classifier:
    """The classifier for these settings' models and claims, shared by every runtime in the process.

    A retrained manifest (new modification time) loads afresh; a missing or corrupt artifact raises
    ArtifactError naming the command that rebuilds it.
    """
    manifest = settings.models_dir / MANIFEST
    stamp = manifest.stat().st_mtime if manifest.exists() else 0.0
    key = (settings.models_dir.resolve(), settings.claims_dir.resolve(), stamp, settings.semantic)
    with _lock:
        found = _cache.get(key)
        if found is None:
            semantic = None
            if settings.semantic:
                from townsquare.detection.semantic import load_semantic

                semantic = load_semantic(settings.models_dir)
            found = Classifier(settings.models_dir, settings.claims_dir, semantic=semantic)
            if len(_cache) >= 4:
                _cache.pop(next(iter(_cache)))
            _cache[key] = found
        return found
