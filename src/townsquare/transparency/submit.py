"""Send statements of reasons to the Transparency Database, resumably and never the same puid twice.

Each batch (at most 100) goes to POST {endpoint}/api/v1/statements. A 201 records every puid as sent and
moves the stored cursor; a 422 whose only complaints are "puid not unique" records those puids as already
held (a resubmission after a lost response) and sends the rest again; any other 422 stops the run (the
statement is wrong: nothing more is sent). 5xx answers, timeouts and broken connections are retried with
exponential backoff; after the last try the run stops, and the next run resumes from the stored cursor.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from townsquare.db import transaction
from townsquare.errors import Conflict, Invalid
from townsquare.eventlog import events
from townsquare.runtime import Runtime
from townsquare.transparency import sor
from townsquare.transparency.models import SubmitCursor

ACTOR = "cli:operator"
_PUID_ERROR = re.compile(r"^statements\.(\d+)\.puid$")


class SubmitFailed(Conflict):
    """The database refused or could not be reached; progress so far is kept."""


@dataclass
class Outcome:
    """What one run did."""

    created: int = 0
    duplicates: int = 0
    batches: int = 0
    retries: int = 0
    cursor: int = 0
    log: list[str] = field(default_factory=list)


def _cursor(rt: Runtime, endpoint: str) -> int:
    with transaction(rt.sessions) as session:
        row = session.scalar(select(SubmitCursor).where(SubmitCursor.endpoint == endpoint))
        return row.last_action_id if row else 0


def _duplicates(response: httpx.Response, size: int) -> set[int] | None:
    """Indexes the database says have a puid it already holds; None if it complained of anything else."""
    try:
        errors = response.json().get("errors", {})
    except ValueError:
        return None
    if not isinstance(errors, dict) or not errors:
        return None
    out: set[int] = set()
    for key, messages in errors.items():
        m = _PUID_ERROR.match(str(key))
        text = " ".join(messages) if isinstance(messages, list) else str(messages)
        if m is None or "unique" not in text.lower() or int(m.group(1)) >= size:
            return None
        out.add(int(m.group(1)))
    return out


class Submitter:
    """One run against one endpoint."""

    def __init__(
        self,
        rt: Runtime,
        endpoint: str,
        token: str,
        *,
        client: httpx.Client | None = None,
        attempts: int = 6,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not re.match(r"^https?://[^\s/]+", endpoint):
            raise Invalid("endpoint must be an http(s) URL", {"field": "endpoint"})
        if not token.strip():
            raise Invalid("the token file is empty", {"field": "token_file"})
        self.rt, self.endpoint = rt, endpoint.rstrip("/")
        self.client = client or httpx.Client(timeout=30.0)
        self.headers = {
            "Authorization": f"Bearer {token.strip()}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.attempts, self.backoff_s, self.sleep = attempts, backoff_s, sleep
        self.out = Outcome()

    def _post(self, payload: bytes) -> httpx.Response:
        url = f"{self.endpoint}/api/v1/statements"
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.post(url, content=payload, headers=self.headers)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code < 500:
                    return response
                problem = f"HTTP {response.status_code}"
            if attempt == self.attempts:
                raise SubmitFailed(f"the database did not answer after {attempt} tries ({problem}); "
                                   "run again to resume", {"field": "endpoint"})  # fmt: skip
            self.out.retries += 1
            self.out.log.append(f"retry {attempt} after {problem}")
            self.sleep(self.backoff_s * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _record(self, batch: list[tuple[int, dict[str, Any]]], outcome: str, uuids: dict[str, str],
                cursor: int | None) -> None:  # fmt: skip
        with transaction(self.rt.sessions) as session:
            now = self.rt.now()
            items = [(aid, s["puid"], outcome, uuids.get(s["puid"])) for aid, s in batch]
            sor.record_sent(session, self.endpoint, items, now)
            if cursor is not None:
                row = session.scalar(select(SubmitCursor).where(SubmitCursor.endpoint == self.endpoint))
                if row is None:
                    row = SubmitCursor(endpoint=self.endpoint, last_action_id=0, updated_at=now)
                    session.add(row)
                row.last_action_id, row.updated_at = max(row.last_action_id, cursor), now
            events.record(
                session,
                "dsa.statements_submitted",
                actor=ACTOR,
                subject_type="transparency_database",
                subject_id=httpx.URL(self.endpoint).host,
                at=now,
                payload={
                    "count": len(items),
                    "outcome": outcome,
                    "first_action": batch[0][0],
                    "last_action": batch[-1][0],
                },  # fmt: skip
            )

    def run(self, max_batches: int | None = None) -> Outcome:
        """Send every statement not yet held by the database, batch by batch, from the stored cursor."""
        after = _cursor(self.rt, self.endpoint)
        while max_batches is None or self.out.batches < max_batches:
            with transaction(self.rt.sessions) as session:
                batch = sor.pending_batch(session, self.rt, after)
            if not batch:
                break
            response = self._post(sor.body([s for _, s in batch]))
            self.out.batches += 1
            if response.status_code in (200, 201):
                got = response.json().get("statements", [])
                uuids = {str(s.get("puid")): str(s.get("uuid")) for s in got if isinstance(s, dict)}
                self._record(batch, "created", uuids, batch[-1][0])
                self.out.created += len(batch)
                after = batch[-1][0]
                continue
            if response.status_code == 422:
                dup = _duplicates(response, len(batch))
                if dup:
                    self._record([batch[i] for i in sorted(dup)], "duplicate", {}, None)
                    self.out.duplicates += len(dup)
                    continue  # the rest of the batch goes again, without the puids already held
            raise SubmitFailed(
                f"the database refused the batch: HTTP {response.status_code} {response.text[:300]}",
                {"field": "statements"},
            )
        self.out.cursor = _cursor(self.rt, self.endpoint)
        return self.out
