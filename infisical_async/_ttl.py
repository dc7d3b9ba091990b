"""TTL strings as the Infisical server reads them (the npm ``ms`` 2.x grammar).

The server parses ``defaultTTL``, ``maxTTL`` and lease ``ttl`` with ``ms``: a number with an
optional unit, case-insensitive, where a bare number means *milliseconds*. Both the client
(to refuse bad TTLs before sending them) and the embedded test server use this module.
"""

from __future__ import annotations

import re
from datetime import timedelta

from .errors import InvalidArgumentError

__all__ = ["MAX_TTL_MS", "MIN_TTL_MS", "TTLInput", "parse_ms", "ttl_to_wire"]

TTLInput = str | timedelta

_SECOND = 1000.0
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
_UNITS: dict[str, float] = {}
for _names, _factor in (
    (("ms", "msec", "msecs", "millisecond", "milliseconds"), 1.0),
    (("s", "sec", "secs", "second", "seconds"), _SECOND),
    (("m", "min", "mins", "minute", "minutes"), _MINUTE),
    (("h", "hr", "hrs", "hour", "hours"), _HOUR),
    (("d", "day", "days"), _DAY),
    (("w", "week", "weeks"), 7 * _DAY),
    (("y", "yr", "yrs", "year", "years"), 365.25 * _DAY),
):
    for _name in _names:
        _UNITS[_name] = _factor

_GRAMMAR = re.compile(r"^(-?(?:\d+)?\.?\d+) *([a-z]+)?$", re.IGNORECASE)

MIN_TTL_MS = _MINUTE
"""The server refuses TTLs under one minute (``TTL must be a greater than 1min``)."""
MAX_TTL_MS = 10 * 365.25 * _DAY
"""The server refuses TTLs over ten years (``TTL must be less than 10 years``)."""


def parse_ms(value: str) -> float | None:
    """Return the milliseconds ``ms`` would read from ``value``, or None where it reads nothing."""
    if len(value) > 100:
        return None
    match = _GRAMMAR.match(value)
    if match is None:
        return None
    unit = (match.group(2) or "ms").lower()
    factor = _UNITS.get(unit)
    if factor is None:
        return None
    return float(match.group(1)) * factor


def ttl_to_wire(
    value: TTLInput,
    *,
    argument: str,
    minimum: timedelta = timedelta(milliseconds=MIN_TTL_MS),
) -> str:
    """Check a TTL argument as the server will, and return the string to send.

    Raises:
        InvalidArgumentError: the TTL has no unit, does not parse, or is out of range.
    """
    if isinstance(value, timedelta):
        total_ms = value.total_seconds() * 1000
        wire = f"{int(total_ms // 1000)}s" if total_ms % 1000 == 0 else f"{int(total_ms)}ms"
    elif isinstance(value, str):
        wire = value.strip()
        if re.fullmatch(r"-?\d*\.?\d+", wire):
            raise InvalidArgumentError(
                argument,
                f"TTL {wire!r} has no unit, and the server reads a bare number as milliseconds; "
                "write e.g. '30s', '5m', '1h' or '1d'",
            )
        parsed = parse_ms(wire)
        if parsed is None:
            raise InvalidArgumentError(
                argument,
                f"TTL {wire!r} is not a duration the server understands "
                "(a number and one of ms, s, m, h, d, w, y)",
            )
        total_ms = parsed
    else:
        raise InvalidArgumentError(
            argument, f"expected a TTL string or datetime.timedelta, got {type(value).__name__}"
        )
    minimum_ms = minimum.total_seconds() * 1000
    if total_ms < minimum_ms:
        raise InvalidArgumentError(
            argument, f"TTL must be at least {minimum.total_seconds():g} seconds"
        )
    if total_ms > MAX_TTL_MS:
        raise InvalidArgumentError(argument, "TTL must be at most 10 years")
    return wire
