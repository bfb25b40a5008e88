"""Notices by webhook: a real HTTP receiver, HMAC signatures, retries with backoff, idempotent ids."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import Clock
from townsquare.appeals.links import load_or_create_key
from townsquare.appeals.models import WebhookDelivery
from townsquare.config import Settings
from townsquare.content.models import Account
from townsquare.db import transaction
from townsquare.notify import WebhookSender, notify
from townsquare.runtime import Runtime, build_runtime


class Receiver:
    """A local HTTP server that answers with the queued statuses and records every request."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


@pytest.fixture
def hooked(settings: Settings, clock: Clock, receiver: Receiver) -> Iterator[Runtime]:
    runtime = build_runtime(
        settings.model_copy(
            update={"webhook_url": receiver.url, "webhook_max_attempts": 3, "webhook_backoff_s": 60}
        ),
        clock=clock,
    )
    yield runtime
    runtime.dispose()


def _account(rt: Runtime) -> int:
    with transaction(rt.sessions) as session:
        a = Account(platform_id="acct-hook", handle="hook", created_at=rt.now(), ingested_at=rt.now())
        session.add(a)
        session.flush()
        notify(session, rt, a.id, "report_outcome", "post", "post-1", {"outcome": "action_taken"})
        return a.id


def _delivery(rt: Runtime) -> WebhookDelivery:
    with transaction(rt.sessions) as session:
        d = session.scalars(select(WebhookDelivery)).one()
        session.expunge(d)
        return d


def test_a_failed_delivery_is_retried_with_backoff_and_the_same_id(
    hooked: Runtime, receiver: Receiver, clock: Clock
) -> None:
    _account(hooked)
    receiver.statuses = [500]
    sender = WebhookSender(hooked)
    assert sender.run_once() == {"delivered": 0, "retried": 1, "failed": 0}
    assert sender.run_once() == {"delivered": 0, "retried": 0, "failed": 0}  # not due before the backoff
    clock.advance(seconds=61)
    assert sender.run_once() == {"delivered": 1, "retried": 0, "failed": 0}
    first, second = receiver.requests
    assert first["headers"]["X-Townsquare-Delivery"] == second["headers"]["X-Townsquare-Delivery"]
    secret = load_or_create_key(hooked.settings.webhook_secret_path)
    sig = dict(part.split("=", 1) for part in second["headers"]["X-Townsquare-Signature"].split(","))
    expected = hmac.new(secret, f"{sig['t']}.".encode() + second["body"], hashlib.sha256).hexdigest()
    assert hmac.compare_digest(sig["v1"], expected)
    payload = json.loads(second["body"])
    assert payload["notification"]["kind"] == "report_outcome"
    assert payload["notification"]["account"] == "acct-hook"
    d = _delivery(hooked)
    assert (d.status, d.attempts) == ("delivered", 2)


def test_a_delivery_that_never_succeeds_is_marked_failed(
    hooked: Runtime, receiver: Receiver, clock: Clock
) -> None:
    _account(hooked)
    receiver.statuses = [503, 503, 503]
    sender = WebhookSender(hooked)
    for _ in range(3):
        sender.run_once()
        clock.advance(hours=1)
    d = _delivery(hooked)
    assert (d.status, d.attempts, d.last_status) == ("failed", 3, 503)
    assert len(receiver.requests) == 3


def test_an_unreachable_receiver_is_an_error_not_a_crash(settings: Settings, clock: Clock) -> None:
    rt = build_runtime(settings.model_copy(update={"webhook_url": "http://127.0.0.1:9/nothing"}), clock=clock)
    try:
        _account(rt)
        assert WebhookSender(rt).run_once() == {"delivered": 0, "retried": 1, "failed": 0}
        assert "ConnectError" in (_delivery(rt).last_error or "")
    finally:
        rt.dispose()
