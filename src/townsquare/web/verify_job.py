"""Chain verification in the background: the audit page starts it and shows its progress instead of
blocking for seconds. One job per service at a time; its result becomes the audit page's last verification.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from townsquare.db import transaction
from townsquare.eventlog import query as aq
from townsquare.eventlog.audit import VerifyResult
from townsquare.eventlog.events import head
from townsquare.runtime import Runtime

log = logging.getLogger(__name__)
_ATTR = "_townsquare_verify_job"
_CREATE = threading.Lock()


class VerifyJob:
    """A verification running (or last run) in a thread, with counts that grow as it walks the chain."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.result: VerifyResult | None = None
        self.total = 0
        self.started = 0.0
        self.finished = 0.0
        self.error = ""

    @property
    def running(self) -> bool:
        """Whether a verification is under way now."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start a verification unless one is running; True when this call started it."""
        with self._lock:
            if self.running:
                return False
            with transaction(self.rt.sessions) as session:
                self.total, _ = head(session)
            self.result, self.error = VerifyResult(), ""
            self.started, self.finished = time.monotonic(), 0.0
            self._thread = threading.Thread(target=self._run, name="townsquare-verify", daemon=True)
            self._thread.start()
            return True

    def _run(self) -> None:
        try:
            aq.run_verification(self.rt, self.result)
        except Exception as exc:  # the page reports it; the service keeps running
            log.exception("chain verification failed")
            self.error = f"the verification could not finish: {type(exc).__name__}"
        finally:
            self.finished = time.monotonic()

    def wait(self, timeout: float) -> None:
        """Wait for the running verification (tests, the CLI)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def progress(self) -> dict[str, Any]:
        """Where the verification stands, as the page's progress bar and status line show it."""
        r = self.result
        state = "running" if self.running else ("done" if r is not None else "idle")
        checked = r.batches if r is not None else 0
        total = max(self.total, checked)
        percent = 100 if state == "done" else (int(checked * 100 / total) if total else 0)
        out: dict[str, Any] = {
            "state": "failed" if state == "done" and self.error else state,
            "batches_checked": checked,
            "batches_total": total,
            "events_checked": r.events if r is not None else 0,
            "percent": percent,
            "seconds": round((self.finished or time.monotonic()) - self.started, 2) if self.started else 0,
            "error": self.error,
        }
        if state == "done" and r is not None and not self.error:
            out.update(ok=r.ok, problems=r.problems[:5])
        return out


def job_for(rt: Runtime) -> VerifyJob:
    """The runtime's verification job (made on first use)."""
    with _CREATE:
        job = getattr(rt, _ATTR, None)
        if not isinstance(job, VerifyJob):
            job = VerifyJob(rt)
            setattr(rt, _ATTR, job)
        return job
