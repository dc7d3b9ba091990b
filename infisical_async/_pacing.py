"""Pacing by the server's own rate-limit headers: wait for a spent window, not into a 429.

Infisical Cloud counts requests per client IP per route in fixed windows and reports, on
every limited answer, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (whole seconds
until the window ends). Those figures count the whole fleet behind the address, which no
client can see: so each client takes only its *share* of what remains, and sends blind into
a new window (before any answer has told it the budget) only with that probability. A 429
says the fleet asked for more than a window holds: the share halves. Every other answer
grows it by half. Once its share of a window is spent, a client waits for the next
window, plus a random tenth of a window so that a fleet does not stampede at the edge.
Self-hosted servers send no such headers: nothing is ever paced.

The server counts by address, not by client: every client of one process that talks to the
same site shares one ``Pacer`` (``shared_pacer``), so fifty clients in a worker are one
participant of the fleet, not fifty strangers guessing at each other's requests.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Mapping

__all__ = ["Pacer", "shared_pacer"]

JITTER_FRACTION = 0.1
"""Spread the requests that waited for a window over this fraction of the next one."""
MAX_TRACKED = 1024
"""Buckets remembered at most (routes with ids in them could otherwise grow without end)."""
MIN_SHARE = 0.2
"""The least share a client keeps: it still tries one window in five. Lower floors cut
429s little more and slowed a 200-client fleet's start several times (benchmarks.fleet)."""
SHARE_GROWTH = 1.5
"""Each answer that is not a 429 grows the share by half (a 429 halves it)."""


class _Bucket:
    __slots__ = ("allowance", "resets_at", "share", "window")

    def __init__(self, resets_at: float, window: float) -> None:
        self.allowance: int | None = None
        """Requests this client may still send in the window; None until an answer says."""
        self.resets_at = resets_at
        self.window = window
        self.share = 1.0
        """The part of a window's budget this client takes, and the chance that it sends
        blind into a new window. Halved by every 429 (the fleet asked for more than the
        window holds), grown by half by every answer that was not one."""


class Pacer:
    """Per route bucket: the server's budget, this client's share of it, the window."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        """Blocking clients of one process run on several event-loop threads."""

    def reserve(self, bucket: str) -> float:
        """Seconds to wait before sending on ``bucket`` (0: send now, and it is counted)."""
        with self._lock:
            return self._reserve(bucket)

    def _reserve(self, bucket: str) -> float:
        state = self._buckets.get(bucket)
        if state is None:
            return 0.0
        now = self._clock()
        if now >= state.resets_at:  # a new window: its budget is unknown until an answer
            elapsed = now - state.resets_at
            state.resets_at += (elapsed // state.window + 1) * state.window
            state.allowance = None
            if self._rng() >= state.share:  # sit this window out: the fleet has too many
                return self._until_next_window(state, now)
            return 0.0  # one blind request: its answer sets the budget (others wait for it)
        if state.allowance is None:  # a blind request is out: its answer sets the budget
            return min(state.resets_at - now, JITTER_FRACTION * state.window)
        if state.allowance > 0:
            state.allowance -= 1
            return 0.0
        return self._until_next_window(state, now)

    def _until_next_window(self, state: _Bucket, now: float) -> float:
        return state.resets_at - now + self._rng() * JITTER_FRACTION * state.window

    def observe(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        """Take the budget an answer reports (nothing when it reports none)."""
        remaining = _count(headers.get("x-ratelimit-remaining"))
        reset = _count(headers.get("x-ratelimit-reset"))
        if remaining is None or reset is None:
            return
        with self._lock:
            self._observe(bucket, status, remaining, reset)

    def _observe(self, bucket: str, status: int, remaining: int, reset: int) -> None:
        now = self._clock()
        state = self._buckets.get(bucket)
        if state is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._buckets.pop(next(iter(self._buckets)))
            state = self._buckets[bucket] = _Bucket(now + reset, float(max(reset, 1)))
        state.window = float(max(reset, 1, state.window))
        state.resets_at = now + reset
        if status == 429:
            state.share = max(MIN_SHARE, state.share * 0.5)
            remaining = 0
        else:
            state.share = min(1.0, state.share * SHARE_GROWTH)
        # The server's figure counts the whole fleet behind this IP; take our share of it.
        state.allowance = int(remaining * state.share)


_shared: dict[str, Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(site_url: str) -> Pacer:
    """The pacer of every client in this process that talks to ``site_url``."""
    with _shared_lock:
        pacer = _shared.get(site_url)
        if pacer is None:
            pacer = _shared[site_url] = Pacer()
        return pacer


def _forget_after_fork() -> None:
    # A forked child gets fresh pacers and locks: a lock the parent held at the fork
    # would never be released in the child (clients inherited from the parent are
    # refused with ClientForkedError, but only after they pace).
    global _shared_lock
    for pacer in _shared.values():
        pacer._lock = threading.Lock()
    _shared.clear()
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _count(value: str | None) -> int | None:
    """A non-negative integer header, or None (absent or malformed: ignored)."""
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value)
