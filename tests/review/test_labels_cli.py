"""Human decisions exported as labelled examples for the next training run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import Result

from tests.review.conftest import THREAT, case_for, new_account, new_post

Staff = Callable[[str, list[str]], TestClient]


def test_export_labels_writes_one_example_per_decision(
    platform: TestClient, staff: Staff, cli: Callable[..., Result], tmp_path: Path
) -> None:
    pid = new_post(platform, new_account(platform), THREAT)
    mod = staff("mod", ["moderator"])
    cid = case_for(mod, pid)["id"]
    rev = mod.post(f"/v1/cases/{cid}/take").json()["revision"]
    body = {
        "outcome": "violation",
        "policy": "harassment_threats",
        "action": "remove",
        "reason": "threat",
        "revision": rev,
    }
    assert mod.post(f"/v1/cases/{cid}/decide", json=body).status_code == 200
    out = tmp_path / "labels.jsonl"
    result = cli("models", "export-labels", "--output", str(out))
    assert result.exit_code == 0, result.output
    [row] = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["text"] == THREAT
    assert row["label"] == 1
    assert row["policy"] == "harassment_threats"
    assert row["head"] == "threat"
    bad = cli("models", "export-labels", "--output", str(tmp_path / "missing-dir" / "x.jsonl"))
    assert bad.exit_code != 0
    assert "Traceback" not in bad.output
