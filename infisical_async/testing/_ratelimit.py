"""Infisical Cloud's rate limiter and the ETag every answer carries, emulated.

Cloud limits each client IP per route (method + URL pattern), in fixed windows of 60 s
(``@fastify/rate-limit`` with a per-route ``max``): secrets routes share the plan's
*secrets* figure, auth routes the *auth* one, other reads *read* and other writes *write*;
routes without a limit of their own count against a global 600. Every limited answer
carries ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (whole
seconds until the window ends); a refusal is a 429 with ``retry-after`` and a JSON body.
Self-hosted servers (``"off"``) have none of it.

``@fastify/etag`` gives every answer a strong ETag (``"base64(sha1(body))"``) and turns an
answer whose ETag equals ``If-None-Match`` (exact string compare) into an empty 304.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["PLANS", "RateLimitMode", "RateLimiter", "Verdict", "etag_of"]

RateLimitMode = Literal["off", "instance", "free", "pro"]

PLANS: dict[str, dict[str, int]] = {
    # The instance defaults apply to requests without an organisation plan.
    "instance": {"read": 60, "write": 200, "secrets": 60, "auth": 60},
    "free": {"read": 200, "write": 90, "secrets": 120, "auth": 60},
    "pro": {"read": 350, "write": 200, "secrets": 300, "auth": 60},
}
GLOBAL_LIMIT = 600
UNLIMITED = frozenset({"/api/status", "/healthcheck"})
_SECRETS = re.compile(r"^/api/v[34]/secrets(/|$)")
_AUTH = re.compile(r"^/api/v1/auth/")


def limit_kind(method: str, path: str) -> str | None:
    """Which of the plan's figures limits this route; None for the global limit."""
    if _SECRETS.match(path):
        return "secrets"
    if _AUTH.match(path):
        return "auth"
    if path.startswith("/api/"):
        return "read" if method in ("GET", "HEAD") else "write"
    return None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Whole seconds until the window ends (the header's value)."""

    def headers(self) -> dict[str, str]:
        headers = {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
        }
        if not self.allowed:
            headers["retry-after"] = str(self.reset)
        return headers


class RateLimiter:
    """Fixed windows per (method, route pattern, client IP), as the Cloud limiter counts."""

    def __init__(
        self,
        mode: RateLimitMode,
        *,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode != "off" and mode not in PLANS:
            raise ValueError("rate_limits must be 'off', 'instance', 'free' or 'pro'")
        if window <= 0:
            raise ValueError("rate_window must be positive")
        self.mode = mode
        self.window = window
        self._clock = clock
        self._windows: dict[tuple[str, str, str], tuple[float, int]] = {}
        """(method, pattern, ip) -> (window end, requests counted in it)."""
        self.refused = 0

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    def hit(self, method: str, pattern: str, path: str, ip: str) -> Verdict | None:
        """Count one request; None when the route is not limited."""
        if not self.enabled or path in UNLIMITED:
            return None
        kind = limit_kind(method, path)
        limit = GLOBAL_LIMIT if kind is None else PLANS[self.mode][kind]
        key = (method, pattern, ip)
        now = self._clock()
        ends, count = self._windows.get(key, (0.0, 0))
        if now >= ends:  # the window starts at the first request after the last one ended
            ends, count = now + self.window, 0
        count += 1
        self._windows[key] = (ends, count)
        reset = max(1, math.ceil(ends - now))
        allowed = count <= limit
        if not allowed:
            self.refused += 1
        return Verdict(allowed, limit, max(0, limit - count), reset)


def etag_of(body: bytes) -> str:
    return '"' + base64.b64encode(hashlib.sha1(body).digest()).decode() + '"'
