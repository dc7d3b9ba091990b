"""The embedded server is a second implementation, not a mirror of the client.

It must import nothing of the client (so a client bug cannot be copied into the fake),
and both sides must read TTL strings the way the real server's parser, npm ``ms`` 2.x,
does. The golden cases below restate ``ms``'s own semantics and test suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infisical_async._ttl import parse_ms as client_parse
from infisical_async.testing._ms import ms as server_parse

TESTING = Path(__file__).resolve().parents[1] / "infisical_async" / "testing"

_Y = 365.25 * 24 * 3600 * 1000
GOLDEN: list[tuple[str, float | None]] = [
    ("100", 100),  # a bare number is milliseconds
    ("3600", 3600),
    ("1m", 60_000),
    ("1h", 3_600_000),
    ("2d", 172_800_000),
    ("3w", 1_814_400_000),
    ("1s", 1000),
    ("100ms", 100),
    ("1y", _Y),  # a year is 365.25 days
    ("10y", 10 * _Y),
    ("1.5h", 5_400_000),
    ("1   s", 1000),  # any number of spaces before the unit
    ("1.5H", 5_400_000),  # units ignore case ...
    ("1 M", 60_000),  # ... so M is minutes: there is no month
    (".5ms", 0.5),
    ("-100ms", -100),
    ("-1.5h", -5_400_000),
    ("-10.5h", -37_800_000),
    ("-.5h", -1_800_000),
    ("53 milliseconds", 53),
    ("17 msecs", 17),
    ("1 msec", 1),
    ("1 sec", 1000),
    ("2 secs", 2000),
    ("1 min", 60_000),
    ("3 mins", 180_000),
    ("1 hr", 3_600_000),
    ("2 hrs", 7_200_000),
    ("2 days", 172_800_000),
    ("1 week", 604_800_000),
    ("2 weeks", 1_209_600_000),
    ("1 year", _Y),
    ("2 yrs", 2 * _Y),
    ("1.5 hours", 5_400_000),
    ("-100 milliseconds", -100),
    ("-1.5 hours", -5_400_000),
    ("-.5 hr", -1_800_000),
    # what ms reads nothing from (`undefined`; the empty string throws instead)
    ("☃", None),
    ("10-.5", None),
    ("1mo", None),
    ("1 month", None),
    ("abc", None),
    ("1h30m", None),
    ("", None),
    ("1" * 101, None),  # over 100 characters
]


@pytest.mark.parametrize(("text", "expected"), GOLDEN, ids=[g[0][:20] or "empty" for g in GOLDEN])
@pytest.mark.parametrize("side", ["client", "server"])
def test_ttl_strings_read_like_npm_ms(side: str, text: str, expected: float | None) -> None:
    parse = client_parse if side == "client" else server_parse
    result = parse(text)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_the_embedded_server_imports_nothing_of_the_client() -> None:
    offenders = []
    for source in sorted(TESTING.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                outside = node.level >= 2 or (
                    node.level == 0
                    and module.startswith("infisical_async")
                    and not module.startswith("infisical_async.testing")
                )
            elif isinstance(node, ast.Import):
                outside = any(
                    a.name.startswith("infisical_async")
                    and not a.name.startswith("infisical_async.testing")
                    for a in node.names
                )
            else:
                continue
            if outside:
                offenders.append(f"{source.name}:{node.lineno}")
    assert offenders == []
    assert len(list(TESTING.glob("*.py"))) > 10  # the scan really saw the package
