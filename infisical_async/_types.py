"""Small shared types: the NOT_GIVEN sentinel and the Timeout value."""

from __future__ import annotations

import enum

import aiohttp
import attrs

from ._constants import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TOTAL_TIMEOUT

__all__ = ["NOT_GIVEN", "NotGiven", "Timeout"]


class NotGiven(enum.Enum):
    """Marks an argument the caller did not pass (``None`` may mean "disable")."""

    NOT_GIVEN = "NOT_GIVEN"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN


@attrs.frozen
class Timeout:
    """Request timeouts in seconds; ``None`` disables one.

    ``total`` bounds a whole request (each retry attempt gets its own); ``connect`` bounds
    getting a connection. aiohttp rounds timeouts of 5 s and more up to the whole second.
    """

    total: float | None = DEFAULT_TOTAL_TIMEOUT
    connect: float | None = DEFAULT_CONNECT_TIMEOUT
    read: float | None = None

    def to_aiohttp(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, connect=self.connect, sock_read=self.read)

    @classmethod
    def coerce(cls, value: Timeout | float | None) -> Timeout:
        if isinstance(value, Timeout):
            return value
        if value is None:
            return cls(total=None, connect=None)
        return cls(total=float(value), connect=min(float(value), DEFAULT_CONNECT_TIMEOUT))
