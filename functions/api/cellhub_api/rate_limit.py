"""Attempt limits for the auth routes: sliding windows per client IP and per account email.

Each action (``login``, ``register``, ``password_reset``) has one window per client IP and
one per email address; an attempt is refused with ``RateLimited`` (429 with ``Retry-After``)
when either key already used its allowance inside the window. Refused attempts are not
counted, so a client that waits ``retry_after`` seconds is let through again.

The counters live in process memory: in the embedded hub that is the whole hub, in Lambda it
is one warm instance, so the cloud relies on API Gateway throttling as the outer bound and
these limits slow down a single client hammering one instance.

The limiter used by a running app is ``app.state.rate_limiter``; tests replace it, or lower
its limits with ``configure``, before sending requests.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from cellhub.errors import InvalidParameter, RateLimited

Action = Literal["login", "register", "password_reset"]
ACTIONS: tuple[Action, ...] = ("login", "register", "password_reset")

# Past this many tracked keys, idle ones are dropped before a new key is added.
_PRUNE_AT = 10_000


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``attempts`` within any ``window_seconds``."""

    attempts: int
    window_seconds: float

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.window_seconds <= 0:
            raise InvalidParameter("a limit needs attempts >= 1 and a positive window")


DEFAULT_PER_IP: Mapping[Action, Limit] = {
    "login": Limit(30, 300),
    "register": Limit(10, 3600),
    "password_reset": Limit(10, 3600),
}
DEFAULT_PER_EMAIL: Mapping[Action, Limit] = {
    "login": Limit(10, 300),
    "register": Limit(3, 3600),
    "password_reset": Limit(3, 3600),
}


class AuthRateLimiter:
    """Sliding-window attempt logs keyed by ``(action, "ip"|"email", value)``; thread-safe."""

    def __init__(
        self,
        *,
        per_ip: Mapping[Action, Limit] = DEFAULT_PER_IP,
        per_email: Mapping[Action, Limit] = DEFAULT_PER_EMAIL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits: dict[tuple[Action, str], Limit] = {}
        for action, limit in per_ip.items():
            self._limits[(action, "ip")] = limit
        for action, limit in per_email.items():
            self._limits[(action, "email")] = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._attempts: dict[tuple[Action, str, str], deque[float]] = {}

    def configure(
        self, action: Action, *, per_ip: Limit | None = None, per_email: Limit | None = None
    ) -> None:
        """Replace the limits of ``action``; counts already taken are kept."""
        with self._lock:
            if per_ip is not None:
                self._limits[(action, "ip")] = per_ip
            if per_email is not None:
                self._limits[(action, "email")] = per_email

    def check(self, action: Action, *, client_ip: str, email: str | None = None) -> None:
        """Count one attempt, or raise ``RateLimited`` (counting nothing) if over a limit."""
        keys = [(action, "ip", client_ip)]
        if email is not None:
            keys.append((action, "email", email.strip().lower()))
        with self._lock:
            now = self._clock()
            waits = [self._wait(key, now) for key in keys]
            retry_after = max(waits)
            if retry_after > 0:
                raise RateLimited(
                    "too many attempts; try again later",
                    retry_after=max(1, math.ceil(retry_after)),
                )
            if len(self._attempts) > _PRUNE_AT:
                self._prune(now)
            for key in keys:
                if (key[0], key[1]) in self._limits:
                    self._attempts.setdefault(key, deque()).append(now)

    def _wait(self, key: tuple[Action, str, str], now: float) -> float:
        """Seconds until ``key`` may try again (0 if it may now); drops expired entries."""
        limit = self._limits.get((key[0], key[1]))
        log = self._attempts.get(key)
        if limit is None or log is None:
            return 0.0
        while log and log[0] <= now - limit.window_seconds:
            log.popleft()
        if len(log) < limit.attempts:
            return 0.0
        return log[len(log) - limit.attempts] + limit.window_seconds - now

    def _prune(self, now: float) -> None:
        for key in list(self._attempts):
            self._wait(key, now)
            if not self._attempts[key]:
                del self._attempts[key]


_install_lock = threading.Lock()


def get_rate_limiter(request: Request) -> AuthRateLimiter:
    """The app's limiter, made with the default limits on first use."""
    state = request.app.state
    limiter: AuthRateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        with _install_lock:
            limiter = getattr(state, "rate_limiter", None)
            if limiter is None:
                limiter = AuthRateLimiter()
                state.rate_limiter = limiter
    return limiter


def client_ip(request: Request) -> str:
    """The peer address the server saw (proxy headers are not trusted here)."""
    return request.client.host if request.client is not None else "unknown"


RateLimiter = Annotated[AuthRateLimiter, Depends(get_rate_limiter)]
ClientIp = Annotated[str, Depends(client_ip)]
