"""Reads through a shared cache (``cache=``): the glue between a client and a backend.

Memory stays the fast path: this runs only when the in-memory cache missed. A miss in the
shared cache takes the entry's single-flight lock and fetches; a caller that finds the
lock taken polls the shared cache for the holder's answer, within a bounded wait, and
fetches itself past it (the holder died, or is slow).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets as secrets_module
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ._serde import structure, unstructure
from ._transport import Revalidation
from .cache import CacheBackend, CachedAnswer, EntryKey
from .errors import ResponseValidationError
from .models import Secret, SecretList

if TYPE_CHECKING:
    from ._client_state import ClientState

__all__ = ["SharedReads", "identity_label"]

T = TypeVar("T")
Fetch = Callable[[Revalidation | None], Awaitable[T]]

_MODELS: dict[str, type[Any]] = {"list": SecretList, "get": Secret}
"""What each kind of cached read (the first item of its key) parses into."""


def identity_label(auth: object) -> str:
    """Who reads, for the shared cache's namespace; the backend hashes it.

    The client id (Universal Auth) or identity id (every other login method) when the
    strategy has one; for a ready token, a SHA-256 digest of it (the token itself is
    never kept here nor given to the backend). Otherwise a label of this client alone:
    correct, but its entries are shared with no other client.
    """
    for attribute, kind in (("client_id", "universal-auth"), ("identity_id", "identity")):
        value = getattr(auth, attribute, None)
        if isinstance(value, str) and value:
            return f"{kind}:{value}"
    token = getattr(auth, "token", None)
    if type(auth).__name__ == "TokenAuth" and isinstance(token, str) and token:
        return "token-sha256:" + hashlib.sha256(token.encode()).hexdigest()
    return f"client:{secrets_module.token_hex(16)}"


class SharedReads:
    """One client's use of a shared cache (shared by its ``with_options`` views)."""

    def __init__(self, backend: CacheBackend, state: ClientState, auth: object):
        self.backend = backend
        self._state = state
        self._identity = identity_label(auth)
        self._unsubscribe = backend.subscribe(self._invalidated)

    def _invalidated(self, site_url: str | None, project_id: str | None) -> None:
        """Another process (or this one) wrote: drop what memory holds of the project."""
        memory = self._state.cache
        if site_url is None or project_id is None:
            memory.clear()
        elif site_url == self._state.defaults.site_url:
            memory.invalidate_project(project_id)

    async def written(self, project_id: str) -> None:
        await self.backend.invalidate_project(self._state.defaults.site_url, project_id)

    async def aclose(self) -> None:
        await self._unsubscribe()

    def wrap(
        self, key: tuple[Any, ...] | None, fetch: Fetch[T], deadline: float | None
    ) -> Fetch[T]:
        """``fetch`` going through the shared cache first (unchanged for other reads);
        ``deadline`` (loop clock) is the call's, which bounds any wait for another process."""
        if key is None or key[0] not in _MODELS or not isinstance(key[1], str):
            return fetch
        entry = EntryKey(
            site_url=self._state.defaults.site_url,
            project_id=key[1],
            identity=self._identity,
            request=json.dumps(key, separators=(",", ":"), default=str),
        )

        async def through_shared(revalidation: Revalidation | None) -> T:
            return await self._read(key, entry, fetch, revalidation, deadline)

        return through_shared

    async def _read(
        self,
        key: tuple[Any, ...],
        entry: EntryKey,
        fetch: Fetch[T],
        revalidation: Revalidation | None,
        deadline: float | None,
    ) -> T:
        backend = self.backend
        loop = asyncio.get_running_loop()
        lookup = await backend.get(entry)
        if lookup.answer is not None:
            hit = self._parse(key, lookup.answer, revalidation)
            if hit is not None:
                return cast(T, hit)
        wait = backend.wait
        if deadline is not None:  # keep at least half of the call's time for the fetch
            wait = min(wait, max(0.0, (deadline - loop.time()) / 2))
        give_up = loop.time() + wait
        while True:
            lock = await backend.lock(entry, stamp=lookup.stamp)
            if lock is not None:
                try:
                    # Look again: a holder may have stored the answer and released the lock
                    # between our miss and our taking it.
                    lookup = await backend.get(entry)
                    if lookup.answer is not None:
                        hit = self._parse(key, lookup.answer, revalidation)
                        if hit is not None:
                            return cast(T, hit)
                    return await self._fetch_and_share(
                        key, entry, fetch, revalidation, lookup.stamp
                    )
                finally:
                    await lock.release()
            if loop.time() >= give_up:
                return await fetch(revalidation)  # the holder is slow or gone
            await self._state.sleep(backend.poll_interval)
            lookup = await backend.get(entry)
            if lookup.answer is not None:
                hit = self._parse(key, lookup.answer, revalidation)
                if hit is not None:
                    return cast(T, hit)

    async def _fetch_and_share(
        self,
        key: tuple[Any, ...],
        entry: EntryKey,
        fetch: Fetch[T],
        revalidation: Revalidation | None,
        stamp: object,
    ) -> T:
        result = await fetch(revalidation)
        value: Any = result
        if revalidation is not None and revalidation.not_modified:
            held = self._state.cache.revalidatable(key)  # 304: what memory holds is current
            value = None if held is None else held[0]
        if value is not None:
            etag = None if revalidation is None else revalidation.etag
            await self.backend.put(
                entry,
                CachedAnswer(unstructure(value), etag),
                ttl=self.backend.ttl,
                stamp=stamp,
            )
        return result

    def _parse(
        self, key: tuple[Any, ...], answer: CachedAnswer, revalidation: Revalidation | None
    ) -> Any:
        try:
            value = structure(answer.data, _MODELS[key[0]])
        except ResponseValidationError:
            return None  # written by an incompatible version: a miss
        if revalidation is not None:  # memory keeps the shared answer's ETag
            revalidation.etag = answer.etag
            revalidation.not_modified = False
        return value
