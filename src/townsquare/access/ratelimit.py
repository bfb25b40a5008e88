"""Login defences: the real client address, per-address and per-username limits, aggregated failure events.

- The client address is the TCP peer. `X-Forwarded-For` is read only when the peer is one of the
  configured `trusted_proxies` (none by default); then the address is the nearest hop, walking the
  header from the right, that is not itself a trusted proxy. Anything else is client-controlled.
- Each address may try `login_rate_per_minute` logins a minute whatever the usernames (password
  spraying), then 429 with Retry-After.
- A username under attack slows down instead of locking: after `login_slowdown_after` failures in a row,
  from any addresses, each further try must wait 1, 2, 4 ... seconds (at most `login_max_delay_s`)
  after the last failure, answered 429 with Retry-After and not even checked. Its owner is delayed at
  most that long, never locked out; a guesser gets one try per delay. Unknown usernames behave the
  same, so the throttle tells nobody which names exist.
- Failed and throttled logins from one address become one `login.failures` event per
  `login_failure_window_s` (written when the window closes: at the next login, or at shutdown).

Everything here lives in the process: behind several processes each one counts on its own, so the
effective limits are the configured ones times their number.
"""

from __future__ import annotations

import ipaddress
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import Request

from townsquare.errors import TooManyRequests

if TYPE_CHECKING:
    from fastapi import FastAPI

    from townsquare.runtime import Runtime

WINDOW_S = 60.0
MAX_KEYS = 100_000  # bounded memory: past this many clients, the idle ones are forgotten
FORGET_FAILURES_S = 900.0  # a username's failures in a row are forgotten after 15 quiet minutes
MAX_TARGETS = 50  # usernames named in one aggregated failure event
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _too_many(message: str, retry: float, field_name: str) -> TooManyRequests:
    seconds = max(1, math.ceil(retry))
    return TooManyRequests(
        f"{message}; try again in {seconds} s", seconds, {"field": field_name, "retry_after": seconds}
    )


class SlidingWindowLimiter:
    """At most `limit` hits per key within any `window_s` seconds."""

    def __init__(self, limit: int, clock: Callable[[], datetime], window_s: float = WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, message: str = "too many attempts", field_name: str = "username") -> None:
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
                raise _too_many(message, hits[0] + self.window_s - now, field_name)
            hits.append(now)

    def _sweep(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:  # a flood of live keys: start again rather than grow
            self._hits.clear()


class UsernameThrottle:
    """Failed logins slow a username down with a growing, capped delay; a success resets it."""

    def __init__(self, free: int, max_delay_s: float, clock: Callable[[], datetime]) -> None:
        self.free = free
        self.max_delay_s = max_delay_s
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # username -> (failures in a row, last at)
        self._lock = threading.Lock()

    def delay(self, failures: int) -> float:
        """Seconds to wait after the `failures`-th failure in a row (0 while under the free count)."""
        if failures < self.free:
            return 0.0
        return float(min(2.0 ** min(failures - self.free, 30), self.max_delay_s))

    def check(self, username: str) -> None:
        """Raise 429 while `username` must still wait after its last failure."""
        now = self.clock().timestamp()
        with self._lock:
            count, last = self._current(username, now)
        wait = last + self.delay(count) - now
        if wait > 0:
            raise _too_many("too many failed logins for this username", wait, "username")

    def failed(self, username: str) -> None:
        """Count a failure for `username`."""
        now = self.clock().timestamp()
        with self._lock:
            count, _ = self._current(username, now)
            if username not in self._failures and len(self._failures) >= MAX_KEYS:
                self._sweep(now)
            self._failures[username] = (count + 1, now)

    def succeeded(self, username: str) -> None:
        """Forget `username`'s failures."""
        with self._lock:
            self._failures.pop(username, None)

    def _current(self, username: str, now: float) -> tuple[int, float]:
        count, last = self._failures.get(username, (0, 0.0))
        return (0, 0.0) if now - last > FORGET_FAILURES_S else (count, last)

    def _sweep(self, now: float) -> None:
        for key in [k for k, (_, last) in self._failures.items() if now - last > FORGET_FAILURES_S]:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:
            self._failures.clear()


@dataclass
class FailureWindow:
    """Failed and throttled logins from one address since `start`."""

    start: float
    failures: int = 0
    throttled: int = 0
    names: set[str] = field(default_factory=set)  # digests of every username tried
    targets: set[str] = field(default_factory=set)  # existing usernames that failed


class FailureLog:
    """Collects failed logins per address; a window closes `window_s` after its first failure."""

    def __init__(self, window_s: float, clock: Callable[[], datetime]) -> None:
        self.window_s = window_s
        self.clock = clock
        self._open: dict[str, FailureWindow] = {}
        self._lock = threading.Lock()

    def add(self, client: str, name_digest: str, target: str | None, *, throttled: bool = False) -> None:
        """Count one failed (or throttled) login from `client`."""
        now = self.clock().timestamp()
        with self._lock:
            window = self._open.get(client)
            if window is None:
                if len(self._open) >= MAX_KEYS:  # a flood of addresses: keep memory bounded
                    return
                window = self._open[client] = FailureWindow(start=now)
            if throttled:
                window.throttled += 1
            else:
                window.failures += 1
            window.names.add(name_digest)
            if target is not None and len(window.targets) < MAX_TARGETS:
                window.targets.add(target)

    def due(self, *, everything: bool = False) -> list[tuple[str, FailureWindow]]:
        """Remove and return the windows that have closed (all of them when `everything`)."""
        now = self.clock().timestamp()
        with self._lock:
            done = [c for c, w in self._open.items() if everything or now >= w.start + self.window_s]
            return [(c, self._open.pop(c)) for c in done]


def parse_networks(spec: str) -> list[Network]:
    """Comma-separated addresses or CIDR ranges (`10.0.0.0/8, ::1`); ValueError names a bad entry."""
    out: list[Network] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"not an IP address or network: {item!r}") from exc
    return out


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def forwarded_client(peer: str, forwarded_for: list[str], trusted: list[Network]) -> str:
    """The client address: the peer, or, when the peer is a trusted proxy, the nearest untrusted hop."""

    def is_trusted(value: str) -> bool:
        ip = _ip(value)
        return ip is not None and any(ip in net for net in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:  # garbage in the header: the last proxy we trust is the best we know
            break
        client = str(ip)
        if not is_trusted(client):
            break
    return client


@dataclass
class LoginGuard:
    """One app's login defences (created on first use)."""

    trusted: list[Network]
    per_address: SlidingWindowLimiter
    per_key: SlidingWindowLimiter  # password changes and token requests, per user
    usernames: UsernameThrottle
    failures: FailureLog

    @classmethod
    def for_runtime(cls, rt: Runtime) -> LoginGuard:
        """Limits from the runtime's settings."""
        s = rt.settings
        return cls(
            trusted=parse_networks(s.trusted_proxies),
            per_address=SlidingWindowLimiter(s.login_rate_per_minute, rt.now),
            per_key=SlidingWindowLimiter(s.login_rate_per_minute, rt.now),
            usernames=UsernameThrottle(s.login_slowdown_after, s.login_max_delay_s, rt.now),
            failures=FailureLog(s.login_failure_window_s, rt.now),
        )


_create_lock = threading.Lock()


def guard(app: FastAPI) -> LoginGuard:
    """The app's login guard (one per app, created on first use)."""
    state = app.state
    found: LoginGuard | None = getattr(state, "login_guard", None)
    if found is None:
        with _create_lock:
            found = getattr(state, "login_guard", None)
            if found is None:
                found = state.login_guard = LoginGuard.for_runtime(state.runtime)
    return found


def client_ip(request: Request) -> str:
    """The client's address (X-Forwarded-For is believed only from a configured trusted proxy)."""
    peer = request.client.host if request.client else "unknown"
    return forwarded_client(peer, request.headers.getlist("x-forwarded-for"), guard(request.app).trusted)


def normalise(username: str) -> str:
    """The form of a username that limits count by."""
    return username.strip().lower()


def check(request: Request, key: str) -> None:
    """Count a password-change or token request for `key` (per user); 429 over login_rate_per_minute."""
    guard(request.app).per_key.hit(key)
