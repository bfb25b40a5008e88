"""Serving needs no training stack: the service, a worker and the semantic tier never import torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from townsquare.app import create_app
from townsquare.cli.db import upgrade
from townsquare.cli.main import app as cli_app
from townsquare.config import Settings
from townsquare.runtime import build_runtime
from townsquare.stream import worker
url = "sqlite:///" + sys.argv[1]
upgrade(url)
settings = Settings(database_url=url, models_enabled=True, semantic=True, signing_key_path=sys.argv[2])
rt = build_runtime(settings)
with TestClient(create_app(runtime=rt, keep_chain=False)) as c:
    c.get("/healthz")
semantic = rt.classifier is not None and getattr(rt.classifier, "semantic", None) is not None
loaded = sorted(m for m in ("torch", "transformers", "onnx", "sentence_transformers") if m in sys.modules)
print(json.dumps({"loaded": loaded, "semantic": semantic}))
"""


def test_the_service_and_workers_never_import_the_training_stack(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "t.db"), str(tmp_path / "key")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["semantic"] is True  # the semantic tier ran on onnxruntime + tokenizers alone
