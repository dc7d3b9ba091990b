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
    invalidation easy to get wrong. Each write also moves the project's generation on, so
    a read that started before the write cannot store its (older) answer after it.

    An answer that came with an ETag is kept past its freshness (until evicted): the next
    read of it asks the server with ``If-None-Match``, and a 304 makes it fresh again
    without a body to download or parse.
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
        self._entries: dict[Hashable, tuple[float, Any, str | None]] = {}
        """key -> (stored at, answer, its ETag)."""
        self._generations: dict[Hashable, int] = {}

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
            if entry[2] is None:  # of no more use: not even to revalidate
                del self._entries[key]
            return None
        return entry[1], age

    def revalidatable(self, key: tuple[Hashable, ...]) -> tuple[Any, str] | None:
        """(answer, ETag) of an entry of any age that has an ETag to revalidate with."""
        entry = self._entries.get(key)
        if entry is None or entry[2] is None:
            return None
        return entry[1], entry[2]

    def generation(self, project_id: Hashable) -> int:
        """Take this before a read; hand it to ``put`` with the answer."""
        return self._generations.get(project_id, 0)

    def put(
        self, key: tuple[Hashable, ...], value: Any, *, generation: int, etag: str | None = None
    ) -> None:
        """Store an answer, unless a write to its project happened since the read began."""
        if self._generations.get(key[1], 0) != generation:
            return
        if key not in self._entries and len(self._entries) >= self._max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key] = (self._clock(), value, etag)

    def invalidate_project(self, project_id: str) -> None:
        self._generations[project_id] = self._generations.get(project_id, 0) + 1
        for key in [k for k in self._entries if isinstance(k, tuple) and k[1] == project_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
