"""The retraining run behind `townsquare models retrain` (see `retrain.py` for the method).

The live models are never written here: the candidate is trained in a copy, measured, and either
registered as a shadow version (its artifacts copied into the model store) or refused with the
report's reasons.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from townsquare.db import transaction
from townsquare.detection import versions
from townsquare.detection.artifacts import read_manifest
from townsquare.detection.training import pipeline, retrain
from townsquare.detection.training.retrain import RetrainRefused

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

ACTOR = "cli:operator"
Log = Callable[[str], None]


def run(
    rt: Runtime,
    labels: Path,
    holdout: float = retrain.HOLDOUT_SHARE,
    report_path: Path | None = None,
    sample: int | None = None,
    log: Log = print,
    max_drop: float = retrain.MAX_DROP,
) -> dict[str, Any]:
    """Retrain on the decisions in `labels`; returns the registered shadow version's name and report."""
    settings = rt.settings
    rows = retrain.read_labels(labels)
    if not rows:
        raise RetrainRefused(f"no new labels: {labels} holds no decision that teaches a trained model")
    live_files = read_manifest(settings.models_dir).files
    versions.verify(settings.models_dir, live_files)  # a damaged live model is refused, not retrained
    with transaction(rt.sessions) as session:
        live = versions.ensure_live_registered(session, rt, ACTOR)
        # Decisions a registered version (live, shadow or retired) was trained or measured on are not new.
        used = {k for v in versions.list_versions(session) for k in v.report.get("seen_keys", [])}
        live_name = live.name
    new = [r for r in rows if r.key not in used]
    if not new:
        raise RetrainRefused(
            f"no new labels: every decision in {labels} was already used by a registered "
            f"model version (live: {live_name}; see `townsquare models versions`)"
        )
    _, recent = retrain.split_recent(new, holdout)
    recent_keys = {r.key for r in recent}
    train_rows = [r for r in rows if r.key not in recent_keys]
    heads = sorted({r.head for r in train_rows})
    if not heads:
        raise RetrainRefused("no new labels: too few decisions to hold some out and still train on others")
    work = versions.store_dir(settings.models_dir) / "candidates" / retrain.stamp(rt.now()).replace(":", "")
    if work.exists():
        shutil.rmtree(work)
    versions.snapshot(settings.models_dir, work)
    log(f"retraining {', '.join(heads)} on {len(train_rows)} decisions; {len(recent)} most recent held out")
    pipeline.train(
        settings.data_dir, work, settings.claims_dir, only=heads, sample=sample, log=log,
        extra=retrain.reviewer_parts(train_rows),
    )  # fmt: skip
    report = retrain.compare(
        settings.models_dir, work, heads, recent, settings.data_dir, sample, log, max_drop
    )
    report.update(
        {
            "created": retrain.stamp(rt.now()),
            "labels_file": str(labels),
            "live_version": live_name,
            "trained_rows": len(train_rows),
            "recent_rows": len(recent),
            "trained_keys": sorted(r.key for r in train_rows),
            "seen_keys": sorted(used | {r.key for r in rows}),
            "summary": {h: e["candidate"]["test_mean_macro_f1"] for h, e in report["heads"].items()},
        }
    )
    md_path = report_path or work.with_name(work.name + "-comparison.md")
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(retrain.markdown(report), encoding="utf-8")
    md_path.with_suffix(".json").write_text(
        json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    if not report["accepted"]:
        shutil.rmtree(work, ignore_errors=True)
        raise RetrainRefused(
            "candidate refused, the live model is untouched: "
            + "; ".join(report["failures"])
            + f" (report: {md_path})"
        )
    with transaction(rt.sessions) as session:
        row = versions.register_shadow(session, rt, work, report, ACTOR)
        name = row.name
    shutil.rmtree(work, ignore_errors=True)
    return {"name": name, "report": str(md_path), "accepted": True, "heads": heads}
