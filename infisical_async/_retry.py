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
    """Reads, login and token renewal: retry connection errors, timeouts and 408/429/5xx."""
    DELETE = "delete"
    """Deletes: retried like reads; a 404 after an attempt whose answer was lost means an
    earlier attempt did the work, so the call succeeds (the transport returns None)."""
    WRITE = "write"
    """Creates, updates and lease renewals (which add to the expiry): retry only what
    provably did not reach the server, or 429/503 + Retry-After."""


def should_retry_status(mode: RetryMode, status: int, retry_after: float | None) -> bool:
    if mode is not RetryMode.WRITE:
        return status in RETRYABLE_STATUSES
    return status in (429, 503) and retry_after is not None


def parse_retry_after(
    headers: Mapping[str, str], *, now: Callable[[], float] = time.time
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None.

    An HTTP date is measured against the same answer's ``Date`` header (the server's own
    clock), and against ``now()`` only when the server sent none. A header that is there
    but says nothing usable (zero, negative, in the past, unparsable) gives 0.0: the server
    did ask for a retry, and `backoff_delay` then falls back to the normal backoff rather
    than retrying back to back. None means no header.
    """
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        when = _http_date(raw)
        if when is None:
            return 0.0
        server_now = _http_date(headers.get("Date") or headers.get("date") or "")
        seconds = when - (server_now if server_now is not None else now())
    if seconds != seconds or seconds <= 0:  # NaN, zero, negative or past
        return 0.0
    return seconds


def _http_date(value: str) -> float | None:
    import email.utils  # rare path; keeps the import off start-up

    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def backoff_delay(
    attempt: int,
    *,
    retry_after: float | None = None,
    initial: float = INITIAL_RETRY_DELAY,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Delay before retry number ``attempt`` (1-based); None means "do not retry".

    Exponential from ``initial``, capped at MAX_RETRY_DELAY, with up to 25% jitter taken
    off. A server's positive Retry-After wins when present, unless it exceeds
    MAX_RETRY_AFTER; a zero one (see `parse_retry_after`) gets the normal backoff.
    """
    if retry_after is not None and retry_after > 0:
        return None if retry_after > MAX_RETRY_AFTER else float(retry_after)
    delay: float = min(initial * 2 ** (attempt - 1), MAX_RETRY_DELAY)
    return delay * (1 - 0.25 * rng())
