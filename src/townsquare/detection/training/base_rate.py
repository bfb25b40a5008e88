"""Validate every head's automatic-action threshold at the platform's base rate, weights unchanged.

`townsquare models train --only thresholds`: for each binary fast head (and, with the semantic tier,
each cascade head) that has no `auto_thresholds` yet, the pooled validation rows are scored and the
lowest threshold whose precision at a 5% base rate has a Wilson 95% lower bound >= 0.95 is recorded in
the head's metadata (`metrics.auto_threshold_at_base_rate`). The weights do not change; the artifact's
bytes do (its metadata), so the manifest and the semantic calibration's record of the fast files are
updated. Test rows are never read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.detection.artifacts import Manifest, load_arrays, read_manifest, save_arrays, write_manifest
from townsquare.detection.fast import FastTier
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.fit import HEADS, sample_parts
from townsquare.detection.training.metrics import BASE_RATE, auto_threshold_at_base_rate

Log = Callable[[str], None]


def _validation(name: str, data_dir: Path, sample: int | None) -> tuple[list[str], np.ndarray]:
    task = sample_parts(ds.load_task(HEADS[name].task, data_dir), sample)
    rows = task.rows("val")
    return [r.text for r in rows], np.array([r.label for r in rows])


def _entry(name: str, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    found = auto_threshold_at_base_rate(y, p, BASE_RATE)
    return {name: found or {"threshold": None, "base_rate": BASE_RATE}}


def validate(data_dir: Path, models_dir: Path, sample: int | None, log: Log, force: bool = False) -> None:
    """Record base-rate auto thresholds for the heads that lack them (all of them with `force`)."""
    manifest = read_manifest(models_dir)
    tier = FastTier(models_dir)
    files = dict(manifest.files)
    cache: dict[str, tuple[list[str], np.ndarray]] = {}
    for name, spec in HEADS.items():
        head = tier.heads[name]
        if head.kind != "binary" or (head.meta.get("auto_thresholds") and not force):
            continue
        texts, y = cache.setdefault(name, _validation(name, data_dir, sample))
        entry = _entry(name, y, tier.score(texts)[name])
        arrays, meta = load_arrays(models_dir / spec.file, files[spec.file])
        meta["auto_thresholds"] = entry
        files[spec.file] = save_arrays(models_dir / spec.file, arrays, meta)
        log(f"  {name} (fast): {entry[name]}")
    write_manifest(models_dir, Manifest(files, manifest.versions, manifest.created, manifest.data))
    _validate_cascade(data_dir, models_dir, sample, log, force, cache)


def _validate_cascade(
    data_dir: Path,
    models_dir: Path,
    sample: int | None,
    log: Log,
    force: bool,
    cache: dict[str, tuple[list[str], np.ndarray]],
) -> None:
    from townsquare.detection.semantic import CALIBRATION_FILE, MODEL_FILE, TOKENIZER_FILE

    path = models_dir / CALIBRATION_FILE
    if not path.exists() or MODEL_FILE not in read_manifest(models_dir).files:
        return
    from townsquare.detection.semantic import HEADS as SEM_HEADS
    from townsquare.detection.semantic import Encoder, _sigmoid
    from townsquare.detection.training.semantic_calibrate import cascade_probability
    from townsquare.detection.training.semantic_pipeline import _write_calibration

    body = json.loads(path.read_text(encoding="utf-8"))
    encoder = Encoder(models_dir / MODEL_FILE, models_dir / TOKENIZER_FILE, int(body["max_len"]))
    tier = FastTier(models_dir)
    for j, name in enumerate(SEM_HEADS):
        head = body["heads"][name]
        if head.get("auto_thresholds") and not force:
            continue
        texts, y = cache.setdefault(name, _validation(name, data_dir, sample))
        a, b = head["platt"]
        p_sem = _sigmoid(a * encoder.run(texts)[1][:, j] + b)
        head["auto_thresholds"] = _entry(name, y, cascade_probability(head, tier.score(texts)[name], p_sem))
        log(f"  {name} (cascade): {head['auto_thresholds'][name]}")
    body.pop("fast_files", None)
    _write_calibration(models_dir, body)
