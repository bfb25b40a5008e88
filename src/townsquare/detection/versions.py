"""Model versions: shadow after `models retrain`, live after two people agree, one command to roll back.

A version is a complete copy of the model artifacts (manifest + files) kept in the model store
(`<store>/<name>/`), registered in `model_versions` with the comparison report that justified it.
Putting a version live copies its files into the models directory (each file checked against the
version's manifest first; the manifest is written last, so a running process keeps scoring with the
old weights until the new set is complete) and retires the previous live version. Every decision
keeps recording the scorer versions it used (`<version>+<sha12>` of each artifact), so a published
or rolled-back version is visible in every verdict and signal it makes.

Refusals leave the live models untouched: a version whose stored artifact is missing or does not
match its manifest, a version that is not shadow, a rollback with no earlier version.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.access import approvals
from townsquare.access.models import Approval
from townsquare.access.roles import MODELS_PUBLISH
from townsquare.access.service import Principal
from townsquare.detection.artifacts import MANIFEST, ArtifactError, read_manifest, sha256_file
from townsquare.detection.models import ModelVersion
from townsquare.errors import Conflict, Invalid, NotFound
from townsquare.eventlog import events

if TYPE_CHECKING:
    from townsquare.runtime import Runtime

SUBJECT = "model_version"


def store_dir(models_dir: Path) -> Path:
    """Where model versions are kept: next to the models directory's project, under var/ (not in git)."""
    env = os.environ.get("TOWNSQUARE_MODEL_STORE")
    return Path(env) if env else models_dir.resolve().parent / "var" / "model_versions"


def version_name(models_dir: Path, now: datetime) -> str:
    """`fast-<UTC time>-<first 12 hex digits of the manifest's sha256>`."""
    return f"models-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{sha256_file(models_dir / MANIFEST)[:12]}"


def snapshot(models_dir: Path, target: Path) -> dict[str, str]:
    """Copy a models directory's manifest and every artifact it lists into `target`, verified."""
    manifest = read_manifest(models_dir)
    verify(models_dir, manifest.files)
    target.mkdir(parents=True, exist_ok=True)
    for rel in manifest.files:
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(models_dir / rel, target / rel)
    shutil.copy2(models_dir / MANIFEST, target / MANIFEST)
    return dict(manifest.files)


def verify(directory: Path, files: dict[str, str]) -> None:
    """Raise ArtifactError unless every file is present with the recorded sha256."""
    for rel, digest in sorted(files.items()):
        path = directory / rel
        if not path.exists():
            raise ArtifactError(f"model artifact {path} is missing")
        if sha256_file(path) != digest:
            raise ArtifactError(f"model artifact {path} does not match its recorded checksum")


def install(source: Path, models_dir: Path, files: dict[str, str]) -> None:
    """Copy a verified version into the live models directory; the manifest goes last."""
    verify(source, files)
    for rel in sorted(files):
        dest = models_dir / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".incoming")
        shutil.copy2(source / rel, tmp)
        os.replace(tmp, dest)
    tmp = models_dir / (MANIFEST + ".incoming")
    shutil.copy2(source / MANIFEST, tmp)
    os.replace(tmp, models_dir / MANIFEST)


def by_name(session: Session, name: str) -> ModelVersion:
    """One registered version, or NotFound."""
    found = session.scalar(select(ModelVersion).where(ModelVersion.name == name))
    if found is None:
        raise NotFound(f"no model version {name}", {"field": "version"})
    return found


def live(session: Session) -> ModelVersion | None:
    """The live version, if one is registered."""
    return session.scalar(select(ModelVersion).where(ModelVersion.state == "live"))


def list_versions(session: Session) -> list[ModelVersion]:
    """Every registered version, newest first."""
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def ensure_live_registered(session: Session, rt: Runtime, actor: str) -> ModelVersion:
    """Register the models directory as the live version (with a stored copy) when none is yet."""
    current = live(session)
    if current is not None:
        return current
    models_dir = rt.settings.models_dir
    now = rt.now()
    name = version_name(models_dir, now) + "-initial"
    path = store_dir(models_dir) / name
    files = snapshot(models_dir, path)
    row = ModelVersion(
        name=name,
        state="live",
        path=str(path),
        files=files,
        report={"note": "the models directory as found when versions were first recorded"},
        created_by=actor,
        created_at=now,
        published_at=now,
    )
    session.add(row)
    session.flush([row])
    return row


def register_shadow(
    session: Session, rt: Runtime, candidate_dir: Path, report: dict[str, Any], actor: str
) -> ModelVersion:
    """Store a candidate's artifacts and register it as a shadow version (an event records it)."""
    ensure_live_registered(session, rt, actor)
    now = rt.now()
    name = version_name(candidate_dir, now)
    path = store_dir(rt.settings.models_dir) / name
    files = snapshot(candidate_dir, path)
    (path / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    row = ModelVersion(
        name=name,
        state="shadow",
        path=str(path),
        files=files,
        report=report,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush([row])
    events.record(
        session,
        "model.registered",
        actor=actor,
        subject_type=SUBJECT,
        subject_id=row.id,
        at=now,
        payload={"name": name, "state": "shadow", "files": files, "summary": report.get("summary", {})},
    )
    return row


def request_publish(session: Session, rt: Runtime, who: Principal, name: str, reason: str) -> Approval:
    """Ask for a shadow version to go live; a second holder of models:publish must approve it."""
    row = by_name(session, name)
    if row.state != "shadow":
        raise Conflict(f"model version {name} is {row.state}, not shadow", {"field": "version"})
    verify(Path(row.path), row.files)  # refuse now, not at approval time, when the copy is damaged
    if approvals.pending_for(session, "model_publish", "name", name) is not None:
        raise Conflict(f"putting {name} live is already awaiting approval", {"field": "version"})
    payload = {"name": name, "id": row.id}
    summary = f"put model version {name} live"
    return approvals.request_approval(
        session, rt, who, "model_publish", payload, summary, MODELS_PUBLISH, reason
    )


def _switch(
    session: Session, rt: Runtime, row: ModelVersion, actor: str, reason: str, kind: str
) -> dict[str, Any]:
    """Install `row` into the models directory and make it the live version."""
    models_dir = rt.settings.models_dir
    previous = live(session)
    install(Path(row.path), models_dir, row.files)
    now = rt.now()
    if previous is not None and previous.id != row.id:
        previous.state = "retired"
    row.state = "live"
    row.published_at = now
    session.flush()
    out = {"name": row.name, "previous": previous.name if previous else None}
    events.record(
        session,
        kind,
        actor=actor,
        subject_type=SUBJECT,
        subject_id=row.id,
        at=now,
        reason=reason,
        payload=out,
    )
    return out


@approvals.executor("model_publish")
def _execute_publish(session: Session, rt: Runtime, approval: Approval) -> dict[str, Any]:
    approvals.requester(session, rt, approval, need=MODELS_PUBLISH)
    row = session.get(ModelVersion, int(approval.payload["id"]))
    if row is None or row.state != "shadow":
        raise Conflict("the model version is no longer shadow", {"field": "version"})
    result = _switch(session, rt, row, approval.requested_by, approval.reason, "model.published")
    row.approval_id = approval.id
    return {**result, "approval": approval.id, "approved_by": approval.decided_by}


def rollback(session: Session, rt: Runtime, actor: str, reason: str) -> dict[str, Any]:
    """Put the version that was live before the current one back live (one command, recorded)."""
    if not reason.strip():
        raise Invalid("a reason is required", {"field": "reason"})
    current = live(session)
    if current is None:
        raise Conflict("no model version is registered as live; nothing to roll back", {"field": "version"})
    earlier = session.scalars(
        select(ModelVersion)
        .where(ModelVersion.state == "retired", ModelVersion.published_at.is_not(None))
        .order_by(ModelVersion.published_at.desc(), ModelVersion.id.desc())
    ).first()
    if earlier is None:
        raise Conflict(f"{current.name} has no earlier live version to roll back to", {"field": "version"})
    return _switch(session, rt, earlier, actor, reason, "model.rolled_back")


def view(row: ModelVersion) -> dict[str, Any]:
    """A version as shown by `models versions`."""
    return {
        "name": row.name,
        "state": row.state,
        "created_at": events.iso(row.created_at),
        "published_at": events.iso(row.published_at) if row.published_at else None,
        "created_by": row.created_by,
        "approval_id": row.approval_id,
        "summary": row.report.get("summary", {}),
    }
