"""Pacing by the server's own rate-limit headers: wait for a spent window, not into a 429.

Infisical Cloud counts requests per client IP per route in fixed windows and reports, on
every limited answer, ``x-ratelimit-limit``, ``x-ratelimit-remaining`` and
``x-ratelimit-reset`` (whole seconds until the window ends). The pacer remembers them per
bucket (method + route pattern), counts its own requests against the remaining budget while
their answers are in flight, and, once a bucket is spent, tells the caller how long to wait:
until the window ends, plus a random share of a tenth of the window so that a fleet does
not stampede at its edge. Self-hosted servers send no such headers: nothing is ever paced.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

__all__ = ["Pacer"]

JITTER_FRACTION = 0.1
"""Spread the requests that waited for a window over this fraction of the next one."""
MAX_TRACKED = 1024
"""Buckets remembered at most (routes with ids in them could otherwise grow without end)."""


class _Bucket:
    __slots__ = ("remaining", "resets_at", "window")

    def __init__(self, remaining: int, resets_at: float, window: float) -> None:
        self.remaining = remaining
        self.resets_at = resets_at
        self.window = window


class Pacer:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._buckets: dict[str, _Bucket] = {}

    def reserve(self, bucket: str) -> float:
        """Seconds to wait before sending on ``bucket`` (0: send now, and it is counted)."""
        state = self._buckets.get(bucket)
        if state is None:
            return 0.0
        now = self._clock()
        if now >= state.resets_at:
            del self._buckets[bucket]  # a new window: the next answer tells its budget
            return 0.0
        if state.remaining > 0:
            state.remaining -= 1
            return 0.0
        return state.resets_at - now + self._rng() * JITTER_FRACTION * state.window

    def observe(self, bucket: str, headers: Mapping[str, str]) -> None:
        """Take the budget an answer reports (nothing when it reports none)."""
        remaining = _count(headers.get("x-ratelimit-remaining"))
        reset = _count(headers.get("x-ratelimit-reset"))
        if remaining is None or reset is None:
            return
        now = self._clock()
        state = self._buckets.get(bucket)
        window = float(max(reset, 1, state.window if state is not None else 0))
        if state is None and len(self._buckets) >= MAX_TRACKED:
            self._buckets.pop(next(iter(self._buckets)))
        # The server's figure counts the whole fleet behind this IP: it replaces ours.
        self._buckets[bucket] = _Bucket(remaining, now + reset, window)


def _count(value: str | None) -> int | None:
    """A non-negative integer header, or None (absent or malformed: ignored)."""
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value)
