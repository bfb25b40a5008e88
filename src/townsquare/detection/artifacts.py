"""Model artifacts on disk: written by `townsquare models train`, checked and loaded at start-up.

`models/manifest.json` lists every artifact file with its sha256 and the version of each scorer.
A scorer's version string is `<version>+<first 12 hex digits of its artifact's sha256>`, so every
decision records exactly which weights made it. A missing, altered or unreadable artifact raises
`ArtifactError` naming the command that rebuilds it; nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
REBUILD = "townsquare models train"


class ArtifactError(RuntimeError):
    """A model artifact is missing, altered or unreadable."""

    def __init__(self, message: str, rebuild: str = REBUILD) -> None:
        super().__init__(f"{message}; rebuild it with `{rebuild}`")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    """Write arrays and JSON metadata as one compressed .npz, byte-for-byte reproducibly; return sha256.

    numpy's own savez stamps each member with the current time; fixed timestamps make a retrained
    artifact from the same data and seeds carry the same checksum.
    """
    payload = dict(arrays)
    payload["__meta__"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(payload):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(payload[name]), allow_pickle=False)
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())
    return sha256_file(path)


def load_arrays(path: Path, expected_sha256: str | None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read an .npz written by save_arrays, checking its checksum first."""
    if not path.exists():
        raise ArtifactError(f"model artifact {path} is missing")
    if expected_sha256 is not None and sha256_file(path) != expected_sha256:
        raise ArtifactError(f"model artifact {path} does not match the checksum in {MANIFEST}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files if k != "__meta__"}
            meta = json.loads(bytes(data["__meta__"]).decode())
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"model artifact {path} is unreadable ({exc})") from exc
    return arrays, meta


@dataclass(frozen=True)
class Manifest:
    """The manifest: artifact files with checksums, and scorer versions."""

    files: dict[str, str]  # relative path -> sha256
    versions: dict[str, str]  # scorer -> version (without checksum)
    created: str
    data: dict[str, Any]

    def version_of(self, scorer: str, file: str) -> str:
        """`<version>+<sha12>` for a scorer whose weights are in `file`."""
        return f"{self.versions[scorer]}+{self.files[file][:12]}"


def read_manifest(models_dir: Path) -> Manifest:
    """Load models/manifest.json or raise ArtifactError."""
    path = models_dir / MANIFEST
    if not path.exists():
        raise ArtifactError(f"{path} is missing (no trained models)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(raw["files"], raw["versions"], raw["created"], raw.get("data", {}))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is unreadable ({exc})") from exc


def write_manifest(models_dir: Path, manifest: Manifest) -> None:
    """Write models/manifest.json (sorted keys, one trailing newline)."""
    body = {
        "files": dict(sorted(manifest.files.items())),
        "versions": dict(sorted(manifest.versions.items())),
        "created": manifest.created,
        "data": manifest.data,
    }
    (models_dir / MANIFEST).write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
