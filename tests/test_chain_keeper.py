"""The service keeps the chain sealed and checkpointed in the background."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from tests.conftest import TOKEN, seed_admin
from tests.fixtures.factories import account
from townsquare import chain
from townsquare.app import create_app
from townsquare.config import Settings
from townsquare.runtime import Runtime, build_runtime


def test_keeper_seals_while_serving_and_checkpoints_on_shutdown(settings: Settings) -> None:
    fast = settings.model_copy(update={"seal_interval_s": 0.05, "checkpoint_interval_s": 0.1})
    rt: Runtime = build_runtime(fast)
    seed_admin(rt)
    app = create_app(runtime=rt)
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        assert client.post("/v1/accounts", json=account()).status_code == 201
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            with rt.engine.connect() as conn:
                if conn.exec_driver_sql("SELECT count(*) FROM chain_links").scalar():
                    break
            time.sleep(0.05)
    result = chain.verify(rt)
    assert result.ok
    assert result.head_seq >= 2
    assert result.checkpoints >= 1
    rt.dispose()
