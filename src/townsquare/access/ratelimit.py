"""An in-memory sliding-window rate limiter for login and token endpoints (per client IP + username).

It lives in the process, so each server process counts on its own: behind several processes the
effective limit is the configured one times their number, which still stops online password guessing
(the account lockout is the shared, database-backed defence).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime

from fastapi import Request

from townsquare.errors import TooManyRequests

WINDOW_S = 60.0
MAX_KEYS = 100_000  # bounded memory: past this many clients, the idle ones are forgotten


class SlidingWindowLimiter:
    """At most `limit` hits per key within any `window_s` seconds."""

    def __init__(self, limit: int, clock: Callable[[], datetime], window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one attempt for `key`, or raise TooManyRequests (429, Retry-After) when over the limit."""
        now = self.clock().timestamp()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                if len(self._hits) >= MAX_KEYS:
                    self._sweep(now)
                hits = self._hits[key] = deque()
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= self.limit:
                retry = max(1, math.ceil(hits[0] + self.window_s - now))
                raise TooManyRequests(
                    f"too many attempts; try again in {retry} s",
                    retry,
                    {"field": "username", "retry_after": retry},
                )
            hits.append(now)

    def _sweep(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:  # a flood of live keys: start again rather than grow
            self._hits.clear()


_create_lock = threading.Lock()


def limiter(request: Request) -> SlidingWindowLimiter:
    """The app's limiter for login and token endpoints (one per app, created on first use)."""
    state = request.app.state
    found: SlidingWindowLimiter | None = getattr(state, "auth_limiter", None)
    if found is None:
        with _create_lock:
            found = getattr(state, "auth_limiter", None)
            if found is None:
                rt = state.runtime
                found = SlidingWindowLimiter(rt.settings.login_rate_per_minute, rt.now)
                state.auth_limiter = found
    return found


def client_ip(request: Request) -> str:
    """The peer address (proxies are not trusted: X-Forwarded-For is client-controlled)."""
    return request.client.host if request.client else "unknown"


def check(request: Request, username: str) -> None:
    """Count an attempt by this client for `username`; 429 when over settings.login_rate_per_minute."""
    limiter(request).hit(f"{client_ip(request)}|{username.strip().lower()}")
