"""The retry policy, as pure functions (no I/O, injectable randomness)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from enum import Enum

from ._constants import INITIAL_RETRY_DELAY, MAX_RETRY_AFTER, MAX_RETRY_DELAY

__all__ = ["RetryMode", "backoff_delay", "parse_retry_after", "should_retry_status"]

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


class RetryMode(Enum):
    IDEMPOTENT = "idempotent"
    """Reads, deletes, login and renew: retry connection errors, timeouts and 408/429/5xx."""
    WRITE = "write"
    """Creates: retry only what provably did not reach the server, or 429/503 + Retry-After."""


def should_retry_status(mode: RetryMode, status: int, retry_after: float | None) -> bool:
    if mode is RetryMode.IDEMPOTENT:
        return status in RETRYABLE_STATUSES
    return status in (429, 503) and retry_after is not None


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        import email.utils  # rare path; keeps the import off start-up

        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def backoff_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    initial: float = INITIAL_RETRY_DELAY,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Delay before retry number ``attempt`` (1-based); None means "do not retry".

    Exponential from ``initial``, capped at MAX_RETRY_DELAY, with up to 25% jitter taken
    off. A server's Retry-After wins when present, unless it exceeds MAX_RETRY_AFTER.
    """
    if retry_after is not None:
        return None if retry_after > MAX_RETRY_AFTER else float(retry_after)
    delay: float = min(initial * 2 ** (attempt - 1), MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * rng())
