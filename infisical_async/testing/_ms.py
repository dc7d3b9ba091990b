"""The npm ``ms`` 2.1.3 parser, as the Infisical server runs it for TTL strings.

The embedded server's own port (it shares no code with the client): ``ms("1h")`` is
3600000, a bare number is milliseconds, ``y`` is 365.25 days, matching ignores case, and
anything it cannot read is ``None`` (``undefined`` in JavaScript).
"""

from __future__ import annotations

import re

__all__ = ["DAY_MS", "MINUTE_MS", "TEN_YEARS_MS", "ms"]

_S = 1000
_M = _S * 60
_H = _M * 60
_D = _H * 24
_W = _D * 7
_Y = _D * 365.25

MINUTE_MS = float(_M)
DAY_MS = float(_D)
TEN_YEARS_MS = 10 * _Y

# ms/index.js, parse(): the same expression, unit names and multipliers.
_PATTERN = re.compile(
    r"^(?P<n>-?(?:\d+)?\.?\d+) *(?P<type>milliseconds?|msecs?|ms|seconds?|secs?|s|minutes?|"
    r"mins?|m|hours?|hrs?|h|days?|d|weeks?|w|years?|yrs?|y)?$",
    re.IGNORECASE,
)
_MULTIPLIER = {
    "years": _Y, "year": _Y, "yrs": _Y, "yr": _Y, "y": _Y,
    "weeks": _W, "week": _W, "w": _W,
    "days": _D, "day": _D, "d": _D,
    "hours": _H, "hour": _H, "hrs": _H, "hr": _H, "h": _H,
    "minutes": _M, "minute": _M, "mins": _M, "min": _M, "m": _M,
    "seconds": _S, "second": _S, "secs": _S, "sec": _S, "s": _S,
    "milliseconds": 1, "millisecond": 1, "msecs": 1, "msec": 1, "ms": 1,
}  # fmt: skip


def ms(text: str) -> float | None:
    """Milliseconds in ``text``, or None where ``ms`` answers ``undefined``."""
    if len(text) > 100:
        return None
    found = _PATTERN.match(text)
    if found is None:
        return None
    unit = (found.group("type") or "ms").lower()
    return float(found.group("n")) * _MULTIPLIER[unit]
