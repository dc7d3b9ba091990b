"""A small client-side TTL cache for secret reads, with stale copies for outages."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["ResponseCache"]


class ResponseCache:
    """Answers are fresh for ``ttl`` seconds and kept ``stale_ttl`` seconds more.

    Stale copies are served only when the server cannot answer (``stale_if_error``).
    Keys are tuples whose second item is the project id; a write to a project drops all of
    its entries, fresh and stale: recursive lists, imports and references make narrower
    invalidation easy to get wrong.
    """

    def __init__(
        self,
        ttl: float,
        *,
        stale_ttl: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 4096,
    ) -> None:
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: tuple[Hashable, ...]) -> Any | None:
        """The entry if it is still fresh."""
        entry = self._entries.get(key)
        if entry is None or self._clock() - entry[0] >= self.ttl:
            return None
        return entry[1]

    def get_stale(self, key: tuple[Hashable, ...]) -> tuple[Any, float] | None:
        """(value, age in seconds) if the entry is within ``ttl + stale_ttl``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        age = self._clock() - entry[0]
        if age >= self.ttl + self.stale_ttl:
            del self._entries[key]
            return None
        return entry[1], age

    def put(self, key: tuple[Hashable, ...], value: Any) -> None:
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock(), value)

    def invalidate_project(self, project_id: str) -> None:
        for key in [k for k in self._entries if isinstance(k, tuple) and k[1] == project_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
