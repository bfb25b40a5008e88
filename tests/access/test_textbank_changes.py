"""Text banks in live use change only with a second person, whether sent through the API or in files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.conftest import Clock, seed_admin, seed_user
from tests.fixtures.two_person import account, approve, bearer, events, post
from townsquare.app import create_app
from townsquare.config import PROJECT_ROOT, Settings
from townsquare.db import transaction
from townsquare.pipeline.refresh import refresh_states
from townsquare.runtime import Runtime, build_runtime

NEW_TERM = "quokka pyramid payout"
TEXT = f"Join the {NEW_TERM} today, friends."  # only a bank with NEW_TERM matches this


@pytest.fixture
def people(rt: Runtime) -> tuple[str, str]:
    """A policy editor (proposes) and a policy publisher (approves)."""
    return seed_user(rt, "editor", ["policy_editor"]), seed_user(rt, "publisher", ["policy_publisher"])


def _spam_signals(client: TestClient, text: str = TEXT) -> list[tuple[str, str]]:
    pid = post(client, account(client), text)
    signals = client.get(f"/v1/posts/{pid}").json()["signals"]
    return [(s["scorer"], s["scorer_version"]) for s in signals if s["scorer"] == "textbank.spam"]


def _next_spam(client: TestClient, **over: Any) -> dict[str, Any]:
    live = next(
        v for v in client.get("/v1/textbanks").json() if v["policy"] == "spam" and v["state"] == "live"
    )
    bank: dict[str, Any] = client.get(f"/v1/textbanks/spam/versions/{live['version']}").json()["bank"]
    bank["version"] = live["version"] + 1
    bank["terms"] = [*bank["terms"], {"term": NEW_TERM, "weight": 0.9}]
    bank.update(over)
    return bank


def _propose(client: TestClient, token: str, bank: dict[str, Any], expect: int = 202) -> dict[str, Any]:
    r = client.post(
        "/v1/textbanks/spam/versions", json={"bank": bank, "reason": "new scam wave"}, headers=bearer(token)
    )
    assert r.status_code == expect, r.text
    out: dict[str, Any] = r.json()
    return out


def _states(client: TestClient) -> dict[int, tuple[str, bool]]:
    rows = client.get("/v1/textbanks").json()
    return {v["version"]: (v["state"], v["in_use"]) for v in rows if v["policy"] == "spam"}


def test_a_bank_change_through_the_api_needs_a_second_person(
    client: TestClient, rt: Runtime, settings: Settings, people: tuple[str, str]
) -> None:
    editor, publisher = people
    worker = build_runtime(settings)  # another process, started before the change
    create_app(runtime=worker, keep_chain=False)
    bank = _next_spam(client)
    new = bank["version"]
    pending = _propose(client, editor, bank)
    assert (pending["kind"], pending["required_permission"]) == ("textbank", "policy:publish")
    assert pending["payload"]["changes"]["terms_added"] == [f"{NEW_TERM} (0.9)"]
    assert _states(client)[new] == ("proposed", False)
    assert _spam_signals(client) == []  # proposed banks score nothing

    assert approve(client, editor, pending["id"]).status_code == 403
    done = approve(client, publisher, pending["id"])
    assert (done.status_code, done.json()["status"]) == (200, "approved")
    assert _states(client)[new] == ("live", True)
    assert _states(client)[new - 1] == ("retired", False)
    assert _spam_signals(client) == [("textbank.spam", str(new))]

    recorded = [e for e in events(rt, "textbank.version_recorded") if e["subject"]["id"] == f"spam@{new}"]
    assert [(e["actor"], e["payload"]["state"]) for e in recorded] == [("user:editor", "proposed")]
    published = events(rt, "textbank.published")
    assert [(e["actor"], e["payload"]["approved_by"]) for e in published] == [
        ("user:editor", "user:publisher")
    ]

    try:
        with transaction(worker.sessions) as session:
            assert refresh_states(session, worker) is True  # what every request does first
            assert refresh_states(session, worker) is False
        assert ("spam", new) in {(s.bank.policy, s.bank.version) for s in worker.scorers}
    finally:
        worker.dispose()
    restarted = build_runtime(settings)  # a restart, whose files still hold the old version
    try:
        create_app(runtime=restarted, keep_chain=False)
        assert ("spam", new) in {(s.bank.policy, s.bank.version) for s in restarted.scorers}
    finally:
        restarted.dispose()


def test_a_process_on_a_database_without_banks_keeps_its_files(rt: Runtime) -> None:
    before = [(s.bank.policy, s.bank.version) for s in rt.scorers]
    with transaction(rt.sessions) as session:  # nothing recorded yet: the files rule
        assert refresh_states(session, rt) is False
    assert [(s.bank.policy, s.bank.version) for s in rt.scorers] == before


def test_a_new_bank_version_quietly_added_to_the_files_is_held_until_approved(
    client: TestClient, rt: Runtime, settings: Settings, clock: Clock, tmp_path: Path, people: tuple[str, str]
) -> None:
    editor, publisher = people
    auditor = seed_user(rt, "auditor", ["auditor"])
    banks = tmp_path / "textbanks"
    shutil.copytree(PROJECT_ROOT / "textbanks", banks)
    data = yaml.safe_load((banks / "spam.yaml").read_text(encoding="utf-8"))
    old = data["version"]
    data["version"] = old + 1
    data["terms"].append({"term": NEW_TERM, "weight": 0.9})
    (banks / "spam.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    edited = build_runtime(settings.model_copy(update={"textbanks_dir": banks}), clock=clock)
    try:
        with TestClient(create_app(runtime=edited, keep_chain=False)) as c:
            c.headers["Authorization"] = f"Bearer {seed_admin(edited)}"
            assert _states(c)[old + 1] == ("proposed", False)
            assert _spam_signals(c) == []  # the old bank keeps deciding
            assert _spam_signals(c, "Buy 5000 real followers cheap, DM me") == [("textbank.spam", str(old))]
            alerts = c.get("/v1/alerts", headers=bearer(auditor)).json()
            assert [a["kind"] for a in alerts] == ["textbank_held"]

            r = c.post(f"/v1/textbanks/spam/versions/{old + 1}/request", json={"reason": "reviewed the diff"},
                       headers=bearer(editor))  # fmt: skip
            assert r.status_code == 202, r.text
            assert approve(c, publisher, r.json()["id"]).json()["status"] == "approved"
            assert _spam_signals(c) == [("textbank.spam", str(old + 1))]
    finally:
        edited.dispose()


def test_a_proposal_must_be_a_valid_new_version_of_that_bank(
    client: TestClient, people: tuple[str, str]
) -> None:
    editor, _ = people
    bad = _propose(client, editor, _next_spam(client, patterns=["("]), 422)
    assert bad["detail"]["field"] == "bank"
    assert "patterns[0].pattern" in bad["message"]
    other = _propose(client, editor, _next_spam(client, policy="scams_fraud"), 422)
    assert other["detail"]["field"] == "bank.policy"
    stale = _next_spam(client)
    stale["version"] -= 2
    assert _propose(client, editor, stale, 422)["detail"]["field"] == "bank.version"
    rewritten = _next_spam(client)
    rewritten["version"] -= 1  # the live version, with other content
    assert _propose(client, editor, rewritten, 409)["detail"]["field"] == "bank.version"


def test_a_bank_may_not_make_a_policy_laxer_than_validated(
    client: TestClient, people: tuple[str, str]
) -> None:
    editor, _ = people
    # policies/spam.yaml acts at 0.95 on textbank.spam; a bank validated only from 0.99 would undercut it.
    refused = _propose(client, editor, _next_spam(client, auto_threshold=0.99), 422)
    assert refused["detail"]["field"] == "bank.auto_threshold"


def test_only_text_bank_editors_propose(client: TestClient, rt: Runtime, people: tuple[str, str]) -> None:
    _, publisher = people
    denied = _propose(client, publisher, _next_spam(client), 403)
    assert denied["detail"]["permission"] == "textbank:edit"
