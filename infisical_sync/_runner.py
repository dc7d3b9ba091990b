"""The one hand-written piece of the sync layer: a blocking portal per client.

Each sync client owns an anyio blocking portal: a background thread running an asyncio
event loop, on which the async client (its aiohttp session, token refresh and lease keepers)
lives for the client's whole life. Blocking calls hand coroutines to that loop and wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, TypeVar

import anyio
from anyio.from_thread import BlockingPortal, start_blocking_portal

from infisical_async.errors import ClientClosedError

__all__ = ["PortalRunner"]

T = TypeVar("T")


class PortalRunner:
    """Runs coroutines of one async client on its own event-loop thread."""

    def __init__(self) -> None:
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal(
            backend="asyncio", name="infisical-sync"
        )
        self._portal = self._portal_cm.__enter__()
        self._loop: asyncio.AbstractEventLoop = self._portal.call(asyncio.get_running_loop)
        self._loop_thread: int = self._portal.call(threading.get_ident)
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False
        self._inflight: set[concurrent.futures.Future[Any]] = set()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_usable(self) -> None:
        if self._closed:
            raise ClientClosedError("the client is closed")
        if os.getpid() != self._pid:
            raise ClientClosedError(
                "this client was created in another process (before a fork); create a new "
                "client in this process"
            )

    def call(self, fn: Callable[..., Coroutine[Any, Any, T]], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the loop and wait for its result.

        If the wait is interrupted (KeyboardInterrupt, or any other exception in this
        thread), the coroutine is cancelled on the loop rather than left running.
        """
        self._check_usable()
        if threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                "the blocking client cannot be called from its own event-loop thread (for "
                "example from an on_rotate callback); use the async client there"
            )
        # Scheduled on the portal's loop directly: measured cheaper than the portal's own
        # task spawning (benchmarks/run.py, "thread hop" rows), with the same cancellation.
        future = asyncio.run_coroutine_threadsafe(fn(*args, **kwargs), self._loop)
        self._inflight.add(future)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            if self._closed:
                raise ClientClosedError("the client was closed during the call") from None
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            self._inflight.discard(future)

    def call_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the loop thread (for objects bound to that loop)."""
        self._check_usable()
        return self._portal.call(functools.partial(fn, *args, **kwargs))

    def wrap_async_cm(self, cm: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
        """Use an async context manager from blocking code; it lives on the loop."""
        self._check_usable()
        return self._portal.wrap_async_context_manager(cm)

    def close(self, aclose: Callable[[], Awaitable[None]] | None) -> None:
        """Close the async client on its loop, then stop the loop and join its thread.

        Idempotent and safe from any thread; background tasks (lease keepers, refreshes)
        are stopped by ``aclose`` before the portal exits.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if os.getpid() != self._pid:
            return  # the loop thread does not exist in a forked child
        for future in list(self._inflight):
            future.cancel()
        try:
            if aclose is not None:
                self._portal.call(_close_gracefully, aclose)
        finally:
            self._portal_cm.__exit__(None, None, None)


async def _close_gracefully(aclose: Callable[[], Awaitable[None]]) -> None:
    await aclose()
    # Let transports finish closing before the loop stops (aiohttp "graceful shutdown").
    await anyio.sleep(0.01)
