"""``cache_mode="live"``: cached secret reads kept fresh by the server's change events.

The first cached read of a project starts one background watch of the whole project
(every environment and folder). While its event stream is up, a cached answer stays valid
until an event of its project drops it, or ``cache_ttl`` (the safety TTL) runs out. When
the stream is down, or the server has no change events at all, answers fall back to
``live_poll_interval`` seconds of freshness, after which they are revalidated with
``If-None-Match``. A (re)connected stream drops the project's entries first: changes made
while it was down were not heard.

The scope of an event is its project: recursive lists, imports and secret references make
anything narrower easy to get wrong, and a write is rare next to reads. With a shared
cache (``cache=``), each event is also broadcast through it, so processes that do not watch
drop their copies too.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ._watch import (
    Watcher,
    WatchItem,
    WatchMode,
    WatchPolicy,
    WatchResync,
    WatchScope,
    run_in_background,
)
from .errors import InfisicalError

if TYPE_CHECKING:
    from ._client import AsyncInfisicalClient
    from ._client_state import ClientState

__all__ = ["ChangeCallback", "LiveCache", "enable_live_cache"]

log = logging.getLogger("infisical_async.cache")

ChangeCallback = Callable[[WatchItem], Awaitable[None] | None]
"""Called with each change (and resync marker) the live cache hears."""


class LiveCache:
    def __init__(
        self,
        state: ClientState,
        *,
        safety_ttl: float,
        poll_interval: float,
        on_change: ChangeCallback | None,
    ) -> None:
        self._state = state
        self._safety_ttl = safety_ttl
        self._fallback_ttl = min(poll_interval, safety_ttl)
        self._on_change = on_change
        self._modes: dict[str, WatchMode] = {}
        state.cache.ttl = self._fallback_ttl  # until a stream is up

    def follow(self, client: AsyncInfisicalClient, project: str) -> None:
        """Start the project's background watch, once."""
        if project in self._modes or self._state.transport.closed:
            return
        self._modes[project] = "connecting"
        run_in_background(self._state, self._follow(client, project))

    async def _follow(self, client: AsyncInfisicalClient, project: str) -> None:
        watcher = Watcher(
            client,
            WatchScope(project_id=project, environment=None),
            WatchPolicy(poll_when_unavailable=False),
            on_mode=lambda mode: self._mode_changed(project, mode),
        )
        try:
            async for item in watcher.items():
                # A switch to polling changes nothing held: answers already expire after
                # the poll interval once no stream is up (see _mode_changed).
                if not (isinstance(item, WatchResync) and item.reason == "polling"):
                    self._state.cache.invalidate_project(project)
                    await self._share(project)
                await self._notify(item)
        except InfisicalError as exc:
            log.warning(
                "live cache: change events stopped (%s); cached reads now expire after %.0fs",
                type(exc).__name__,
                self._fallback_ttl,
            )
            self._mode_changed(project, "unavailable")

    def _mode_changed(self, project: str, mode: WatchMode) -> None:
        if mode == "streaming":
            self._state.cache.invalidate_project(project)  # the gap before it was not heard
        self._modes[project] = mode
        streaming = all(m == "streaming" for m in self._modes.values())
        self._state.cache.ttl = self._safety_ttl if streaming else self._fallback_ttl

    async def _share(self, project: str) -> None:
        """With a shared cache (``cache=``), tell every process: their copies are stale
        too, and some of them may not be watching (the write may come from another tool)."""
        shared = self._state.shared_cache
        if shared is None:
            return
        try:
            await shared.written(project)
        except Exception:  # the backend bounds and logs its own outages
            log.debug("live cache: the shared cache did not take the invalidation")

    async def _notify(self, item: WatchItem) -> None:
        if self._on_change is None:
            return
        try:
            result: Any = self._on_change(item)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("on_change callback failed")


def enable_live_cache(
    state: ClientState,
    *,
    safety_ttl: float,
    poll_interval: float,
    on_change: ChangeCallback | None,
) -> None:
    state.live_cache = LiveCache(
        state, safety_ttl=safety_ttl, poll_interval=poll_interval, on_change=on_change
    )
