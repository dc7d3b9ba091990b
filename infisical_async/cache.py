"""Caches shared between clients and processes: the backend protocol and `RedisCache`.

A client always keeps its own in-memory cache (``cache_ttl=``). Give it a shared cache
with ``cache=`` and a read goes: memory (when ``cache_ttl`` is set) → the shared cache →
Infisical. A fleet of processes sharing one cache asks Infisical once per entry per TTL:
the first process to miss takes the entry's lock and fetches; the others wait for its
answer. Writes (and change events, through `CacheBackend.invalidate_project`) drop the
project's shared entries and tell every process to drop its in-memory copies.

`RedisCache` needs the ``redis`` extra: ``pip install "infisical-async[redis]"``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from ._redis_cache import RedisCache

__all__ = [
    "CacheBackend",
    "CacheLock",
    "CacheLookup",
    "CachedAnswer",
    "EntryKey",
    "InvalidationListener",
    "RedisCache",
]


@attrs.frozen
class EntryKey:
    """What a cached answer answers: one read of one project by one identity.

    Attributes:
        site_url: The Infisical server (entries of different servers never mix).
        project_id: The project read (invalidation drops a project's entries).
        identity: A label of the identity reading (``"universal-auth:<client id>"``,
            ``"identity:<identity id>"``, ...; never a raw token: see the shared-cache
            guide). Identities see different secrets, so they never share entries.
        request: The read itself, as canonical text (kind and every argument).
    """

    site_url: str
    project_id: str
    identity: str
    request: str


@attrs.frozen
class CachedAnswer:
    """An answer as stored: its JSON-compatible data and the server's ETag for it."""

    data: Any = attrs.field(repr=False)
    etag: str | None = None


@attrs.frozen
class CacheLookup:
    """The result of `CacheBackend.get`.

    Attributes:
        answer: The stored answer, or ``None`` on a miss.
        stamp: Opaque; hand it back to ``put`` and ``lock``. A write to the project since
            the lookup makes that ``put`` store nothing, so an answer read before a write
            can never be stored after it.
    """

    answer: CachedAnswer | None
    stamp: object = None


class CacheLock(Protocol):
    """A held single-flight lock on one entry."""

    async def release(self) -> None:
        """Give the lock up (only if it is still ours). Never raises."""
        ...


InvalidationListener = Callable[[str | None, str | None], None]
"""Called with ``(site_url, project_id)`` when a project's entries were dropped by any
process; ``(None, None)`` means invalidations may have been missed (the connection to the
shared cache was lost): drop everything."""


class CacheBackend(Protocol):
    """What ``cache=`` accepts. Every method is time-bounded and never raises: a shared
    cache that is down or slow turns into misses, and reads go to Infisical."""

    @property
    def ttl(self) -> float:
        """Seconds an answer stays in the shared cache."""
        ...

    @property
    def wait(self) -> float:
        """Longest wait, in seconds, for another process's fetch of the same entry
        (always within the call's deadline); past it the caller fetches itself."""
        ...

    @property
    def poll_interval(self) -> float:
        """Seconds between looks at an entry another process is fetching."""
        ...

    async def get(self, key: EntryKey) -> CacheLookup:
        """The stored answer for ``key`` (``answer=None`` on a miss or an outage)."""
        ...

    async def put(self, key: EntryKey, answer: CachedAnswer, *, ttl: float, stamp: object) -> None:
        """Store ``answer`` for ``ttl`` seconds, unless the project was written to since
        the lookup that gave ``stamp``."""
        ...

    async def lock(self, key: EntryKey, *, stamp: object) -> CacheLock | None:
        """Take the entry's single-flight lock: a `CacheLock` if this caller should fetch
        (also when the shared cache is unreachable), ``None`` if another holds it."""
        ...

    async def invalidate_project(self, site_url: str, project_id: str) -> None:
        """Drop the project's entries and tell every subscribed process. Call it when
        something outside the client (a change event, another tool) changed secrets."""
        ...

    def subscribe(self, listener: InvalidationListener) -> Callable[[], Awaitable[None]]:
        """Call ``listener`` on every invalidation, from any process, until the returned
        coroutine function is awaited. Must not do I/O: listening starts on first use."""
        ...


def __getattr__(name: str) -> Any:
    # RedisCache imports nothing optional at import time, but loading it lazily keeps
    # `import infisical_async.cache` cheap for custom backends.
    if name == "RedisCache":
        from ._redis_cache import RedisCache

        return RedisCache
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
