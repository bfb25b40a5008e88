"""The audit page as an auditor uses it: actors by user name, subjects linked to their pages, payloads as
fields, and verification in the background with its progress."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seed_user
from tests.fixtures import audit_events as ae
from townsquare.app import create_app
from townsquare.runtime import Runtime
from townsquare.web.pages_audit import actor_filter
from townsquare.web.verify_job import job_for


@pytest.fixture
def auditor(rt: Runtime) -> Iterator[TestClient]:
    seed_user(rt, "aud", ["auditor"])
    cookie = ae.login_session(rt, "aud")
    with TestClient(
        create_app(runtime=rt, keep_chain=False),
        base_url="https://testserver",
        cookies={"ts_session": cookie},
    ) as c:
        yield c


def test_the_actor_filter_takes_a_user_name(auditor: TestClient, rt: Runtime) -> None:
    ae.actions(rt, "user:demo-moderator", 3)
    ae.actions(rt, "user:other", 2)
    page = auditor.get("/audit", params={"actor": "demo-moderator"})
    assert page.status_code == 200
    assert page.text.count('<th scope="row">') == 3
    assert 'value="demo-moderator"' in page.text  # the filter shows what was typed
    assert actor_filter("@alice") == "user:alice"
    assert actor_filter("policy:spam@2") == "policy:spam@2"
    assert actor_filter("  ") == ""


def test_subjects_link_to_their_pages_and_payloads_read_as_fields(auditor: TestClient, rt: Runtime) -> None:
    ae.record(
        rt,
        "user.disabled",
        "user:ada",
        subject=("user", "kim"),
        reason="left",
        payload={"tokens_revoked": 2, "detail": {"sessions_revoked": 1}},
    )
    html = auditor.get("/audit").text
    assert '<a href="/admin/users/kim" class="subject-link">kim</a>' in html
    assert "<dt>tokens revoked</dt><dd>2</dd>" in html
    assert "<dt>sessions revoked</dt><dd>1</dd>" in html
    assert '{"tokens_revoked"' not in html
    assert 'title="user:ada">ada</a>' in html


def test_verification_runs_in_the_background_with_progress(auditor: TestClient, rt: Runtime) -> None:
    for n in range(5):
        ae.actions(rt, f"user:peer{n}", 3)
    began = time.monotonic()
    page = auditor.get("/audit", params={"verify": "1"})
    assert page.status_code == 200
    job = job_for(rt)
    job.wait(30)
    progress = auditor.get("/audit/verify").json()
    assert progress["state"] == "done"
    assert progress["ok"] is True
    assert progress["percent"] == 100
    assert progress["batches_checked"] == progress["batches_total"] > 0
    done = auditor.get("/audit").text
    assert 'Status: <strong class="ok">OK</strong>' in done
    assert time.monotonic() - began < 30


def test_the_running_page_shows_a_progress_bar(
    auditor: TestClient, rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(rt)
    monkeypatch.setattr(type(job), "running", property(lambda self: True))
    monkeypatch.setattr(job, "start", lambda: False)
    html = auditor.get("/audit", params={"verify": "1"}).text
    assert 'id="verify-bar"' in html
    assert '<script src="/static/audit.js" defer></script>' in html
    assert "Verifying the chain in the background" in html
