"""Small shared types: the NOT_GIVEN sentinel and the Timeout value."""

from __future__ import annotations

import enum
from typing import Any

import aiohttp
import attrs

from ._constants import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT
from .errors import InvalidArgumentError

__all__ = ["NOT_GIVEN", "NotGiven", "Timeout"]


class NotGiven(enum.Enum):
    """Marks an argument the caller did not pass (``None`` may mean "disable")."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN


def _positive_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InvalidArgumentError(
            f"timeout.{attribute.name}", "must be a positive number of seconds, or None"
        )


@attrs.frozen
class Timeout:
    """Time limits in seconds; ``None`` lifts one.

    ``total`` is the deadline of a whole call: getting an access token (a login or renewal
    it waits for), the request, a re-login and replay after a rejected token, and every
    retry and backoff wait. No step gets a fresh budget. ``connect`` bounds getting each
    connection and ``read`` each wait for data from the socket. Zero or negative values are
    refused (``None`` is how to say "no limit"). aiohttp rounds timeouts of 5 s and more
    up to the whole second.
    """

    total: float | None = attrs.field(default=DEFAULT_TOTAL_TIMEOUT, validator=_positive_or_none)
    connect: float | None = attrs.field(
        default=DEFAULT_CONNECT_TIMEOUT, validator=_positive_or_none
    )
    read: float | None = attrs.field(default=None, validator=_positive_or_none)

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect, sock_read=self.read)

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        """A ``Timeout`` from the ``timeout=`` argument: seconds for the whole call."""
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(total=None, connect=None)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise InvalidArgumentError(
                "timeout", "must be a positive number of seconds, a Timeout, or None"
            )
        return cls(total=float(value), connect=min(float(value), DEFAULT_CONNECT_TIMEOUT))
