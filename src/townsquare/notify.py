"""Notices to platform users: notification records the platform fetches, and signed webhook deliveries.

`notify()` writes a notification (and, when `TOWNSQUARE_WEBHOOK_URL` is set, a pending delivery) in the
caller's transaction. `WebhookSender` posts due deliveries: the body is canonical JSON
`{"delivery_id", "notification": {...}}`, signed with HMAC-SHA256 over `"<timestamp>.<body>"` using the
secret in `TOWNSQUARE_WEBHOOK_SECRET_PATH`, sent as `X-Townsquare-Signature: t=<timestamp>,v1=<hex>` with
`X-Townsquare-Delivery: <delivery_id>`. A 2xx answer marks it delivered; anything else is retried with
exponential backoff (`TOWNSQUARE_WEBHOOK_BACKOFF_S` × 2^(attempt-1), at most an hour) up to
`TOWNSQUARE_WEBHOOK_MAX_ATTEMPTS`, then marked failed. A delivery keeps its id across retries, so the
receiver can drop duplicates (idempotent by delivery id).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.appeals.links import load_or_create_key
from townsquare.appeals.models import WebhookDelivery
from townsquare.db import transaction
from townsquare.eventlog import events
from townsquare.review.models import Notification
from townsquare.runtime import Runtime

MAX_BACKOFF = timedelta(hours=1)


def notify(
    session: Session,
    rt: Runtime,
    account_id: int,
    kind: str,
    subject_type: str,
    subject_id: str,
    body: dict[str, Any],
) -> Notification:
    """Record a notice for a platform user (and queue its webhook delivery when one is configured)."""
    now = rt.now()
    note = Notification(
        account_id=account_id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        body=body,
        created_at=now,
    )
    session.add(note)
    session.flush([note])
    if rt.settings.webhook_url:
        session.add(
            WebhookDelivery(delivery_id=uuid.uuid4().hex, notification_id=note.id, next_attempt_at=now)
        )
    return note


def notification_view(n: Notification) -> dict[str, Any]:
    """A notification as the API and webhooks show it."""
    return {
        "id": n.id,
        "account": n.account.platform_id,
        "kind": n.kind,
        "subject_type": n.subject_type,
        "subject": n.subject_id,
        "body": n.body,
        "created_at": events.iso(n.created_at),
    }


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header value for a body sent at `timestamp` (what receivers recompute)."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def backoff(rt: Runtime, attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failures."""
    return min(timedelta(seconds=rt.settings.webhook_backoff_s * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class WebhookSender:
    """Delivers due webhook notifications; `run_once` is one pass, `start` runs passes in a thread."""

    def __init__(self, rt: Runtime, client: httpx.Client | None = None, interval_s: float = 2.0) -> None:
        self.rt = rt
        self.client = client or httpx.Client(timeout=5.0)
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _due(self, limit: int) -> list[tuple[int, str, bytes]]:
        with transaction(self.rt.sessions) as session:
            rows = session.execute(
                select(WebhookDelivery, Notification)
                .join(Notification, Notification.id == WebhookDelivery.notification_id)
                .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= self.rt.now())
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
            ).all()
            return [
                (
                    d.id,
                    d.delivery_id,
                    json.dumps(
                        {"delivery_id": d.delivery_id, "notification": notification_view(n)},
                        sort_keys=True,
                        separators=(",", ":"),
                    ).encode(),
                )
                for d, n in rows
            ]

    def run_once(self, limit: int = 100) -> dict[str, int]:
        """Attempt every due delivery once; counts of delivered, retried and failed."""
        if not self.rt.settings.webhook_url:
            return {"delivered": 0, "retried": 0, "failed": 0}
        secret = load_or_create_key(self.rt.settings.webhook_secret_path)
        out = {"delivered": 0, "retried": 0, "failed": 0}
        for row_id, delivery_id, body in self._due(limit):
            started = self.rt.now()
            headers = {
                "Content-Type": "application/json",
                "X-Townsquare-Delivery": delivery_id,
                "X-Townsquare-Signature": signature(secret, int(started.timestamp()), body),
            }
            status, error = None, None
            try:
                resp = self.client.post(self.rt.settings.webhook_url, content=body, headers=headers)
                status = resp.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            out[self._record(row_id, status, error, started)] += 1
        return out

    def _record(self, row_id: int, status: int | None, error: str | None, started: datetime) -> str:
        with transaction(self.rt.sessions) as session:
            d = session.get(WebhookDelivery, row_id)
            assert d is not None
            now = self.rt.now()
            d.attempts += 1
            d.last_status = status
            if status is not None and 200 <= status < 300:
                d.status, d.delivered_at, d.last_error = "delivered", now, None
                d.latency_s = (now - started).total_seconds()
                return "delivered"
            d.last_error = error or f"HTTP {status}"
            if d.attempts >= self.rt.settings.webhook_max_attempts:
                d.status = "failed"
                return "failed"
            d.next_attempt_at = now + backoff(self.rt, d.attempts)
            return "retried"

    def start(self) -> None:
        """Deliver in a background thread until stopped."""
        if self._thread is not None or not self.rt.settings.webhook_url:
            return

        def loop() -> None:
            while not self._stop.wait(self.interval_s):
                try:
                    self.run_once()
                except Exception:  # noqa: BLE001 - a delivery pass must never kill the service
                    continue

        self._thread = threading.Thread(target=loop, name="townsquare-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
