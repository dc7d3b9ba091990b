"""A small client-side TTL cache for secret reads."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["ResponseCache"]


class ResponseCache:
    """Entries expire after ``ttl`` seconds; a write to a project drops all of its entries.

    Keys are tuples whose second item is the project id, so invalidation can find them.
    Dropping the whole project on a write is deliberate: recursive lists, imports and
    references make narrower invalidation easy to get wrong.
    """

    def __init__(
        self, ttl: float, *, clock: Callable[[], float] = time.monotonic, max_entries: int = 4096
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: tuple[Hashable, ...]) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: tuple[Hashable, ...], value: Any) -> None:
        if len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock() + self.ttl, value)

    def invalidate_project(self, project_id: str) -> None:
        for key in [k for k in self._entries if isinstance(k, tuple) and k[1] == project_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
