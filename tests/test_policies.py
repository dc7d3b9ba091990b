"""Pure policy functions: TTL grammar and retry decisions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from infisical_async import InvalidArgumentError
from infisical_async._retry import (
    RetryMode,
    backoff_delay,
    parse_retry_after,
    should_retry_status,
)
from infisical_async._ttl import parse_ms, ttl_to_wire


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1m", 60_000),
        ("1.5h", 5_400_000),
        ("90 m", 5_400_000),
        ("1M", 60_000),
        ("2 days", 172_800_000),
        ("1y", 31_557_600_000),
        ("3600", 3600),
        ("500ms", 500),
        ("1mo", None),
        ("abc", None),
        ("", None),
        ("1" * 101, None),
    ],
)
def test_ms_grammar(text: str, ms: float | None) -> None:
    assert parse_ms(text) == ms


def test_ttl_arguments() -> None:
    assert ttl_to_wire("5m", argument="ttl") == "5m"
    assert ttl_to_wire(timedelta(hours=1), argument="ttl") == "3600s"
    assert ttl_to_wire(timedelta(seconds=90.5), argument="ttl") == "90500ms"
    assert ttl_to_wire("2s", argument="ttl", minimum=timedelta(seconds=1)) == "2s"
    for bad, problem in (
        ("3600", "no unit"),
        ("59s", "at least"),
        ("11y", "10 years"),
        ("1mo", "not a duration"),
        (3600, "expected"),
    ):
        with pytest.raises(InvalidArgumentError) as caught:
            ttl_to_wire(bad, argument="max_ttl")  # type: ignore[arg-type]
        assert caught.value.argument == "max_ttl" and problem in str(caught.value)


def test_retry_status_policy() -> None:
    for status in (408, 429, 502, 503, 504):
        assert should_retry_status(RetryMode.IDEMPOTENT, status, None)
    assert not should_retry_status(RetryMode.IDEMPOTENT, 500, None)
    assert not should_retry_status(RetryMode.IDEMPOTENT, 404, None)
    assert not should_retry_status(RetryMode.WRITE, 503, None)
    assert should_retry_status(RetryMode.WRITE, 503, 1.0)
    assert should_retry_status(RetryMode.WRITE, 429, 0.0)
    assert not should_retry_status(RetryMode.WRITE, 502, 1.0)


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "7"}) == 7.0
    when = datetime(2030, 1, 1, tzinfo=timezone.utc)
    header = {"Retry-After": format_datetime(when, usegmt=True)}
    assert parse_retry_after(header, now=lambda: when.timestamp() - 12) == 12.0
    assert parse_retry_after({}) is None
    # there, but saying nothing usable (zero, negative, past, unparsable): 0.0 ...
    for unusable in ("soon", "-3", "0", "nan"):
        assert parse_retry_after({"Retry-After": unusable}) == 0.0
    assert parse_retry_after(header, now=lambda: when.timestamp() + 5) == 0.0
    # ... an HTTP date is measured against the answer's own Date, not the local clock
    dated = {**header, "Date": format_datetime(when - timedelta(seconds=30), usegmt=True)}
    assert parse_retry_after(dated, now=lambda: when.timestamp() + 999) == 30.0


def test_backoff_is_exponential_capped_and_jittered() -> None:
    assert backoff_delay(1, rng=lambda: 0.0) == 0.5
    assert backoff_delay(2, rng=lambda: 0.0) == 1.0
    assert backoff_delay(10, rng=lambda: 0.0) == 8.0
    assert backoff_delay(1, rng=lambda: 1.0) == 0.375
    assert backoff_delay(3, retry_after=4.0) == 4.0
    assert backoff_delay(1, retry_after=600.0) is None  # beyond the cap: give up
    # ... and a zero Retry-After never means back to back: the normal backoff applies
    assert backoff_delay(1, retry_after=0.0, rng=lambda: 0.0) == 0.5
    assert backoff_delay(3, retry_after=0.0, rng=lambda: 0.0) == 2.0
