"""The one hand-written piece of the sync layer: an event-loop thread per client.

Each sync client owns a daemon thread running an asyncio event loop with an anyio blocking
portal, on which the async client (its aiohttp session, token refresh and lease keepers)
lives for the client's whole life. Blocking calls hand coroutines to that loop and wait.

Lifecycle rules, each tested in a subprocess:

* the thread is a daemon and nothing joins it at exit, so a client nobody closed never
  keeps the interpreter alive; a ``weakref.finalize`` closes it (revoking kept leases)
  at exit or when it is collected, within a bounded time, with a ``ResourceWarning``;
* in a forked child the thread does not exist: ``close()`` and exit there do nothing;
* lease keepers held by ``with`` blocks are stopped by ``close()`` from any thread, even
  while such a block is still open.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import threading
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Protocol, TypeVar, cast

import anyio
from anyio.from_thread import BlockingPortal

from infisical_async._namespace import Namespace
from infisical_async.errors import ClientClosedError, ClientForkedError

__all__ = ["PortalRunner", "twin_namespace"]

N = TypeVar("N")


class _Twin(Protocol):
    _async: Any
    _runner: PortalRunner


def twin_namespace(kind: Callable[[Any, PortalRunner], N], name: str) -> Namespace[N]:
    """The blocking namespace ``name``: it wraps the async object's namespace of that name
    and calls through the same runner."""

    def make(obj: _Twin) -> N:
        return kind(getattr(obj._async, name), obj._runner)

    return Namespace(kind, make)  # type: ignore[arg-type]


T = TypeVar("T")

EXIT_CLOSE_TIMEOUT = 5.0
"""At interpreter exit, closing a forgotten client (revoking its leases) may take this long."""


class PortalRunner:
    """Runs coroutines of one async client on its own event-loop thread."""

    def __init__(self) -> None:
        started: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]]
        started = concurrent.futures.Future()
        self._thread = threading.Thread(
            target=_run_loop, args=(started,), name="infisical-sync", daemon=True
        )
        self._thread.start()
        self._portal, self._loop = started.result()
        self._loop_thread = self._thread.ident
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._closed = False
        self._inflight: set[_Call] = set()
        self._pending: collections.deque[_Call] = collections.deque()
        """Calls handed over by blocking threads, not yet started on the loop."""
        self._wake_pending = False
        """A drain of ``_pending`` is scheduled on the loop and has not begun."""
        self._client: AsyncClient | None = None
        self._aclose: Callable[[], Awaitable[None]] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        _RUNNERS.add(self)

    def close_with(self, owner: object, client: AsyncClient) -> None:
        """Close ``client`` and the runner when ``owner`` is collected or the interpreter
        exits, if nobody closed them before; abandon it in a forked child."""
        self._client = client
        self._aclose = client.aclose
        self._finalizer = weakref.finalize(owner, _close_forgotten, self, repr(owner))

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_usable(self) -> None:
        # The fork check comes first: a forked child's runners are also marked closed.
        if os.getpid() != self._pid:
            raise ClientForkedError(
                "this client was created in another process (before a fork); create a new "
                "client in this process"
            )
        if self._closed:
            raise ClientClosedError("the client is closed")

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
        call = _Call(fn, args, kwargs)
        self._inflight.add(call)
        try:
            if self._closed:  # closed while this call was being set up
                call.cancel(self._loop)
            else:
                self._submit(call)
            call.wait()
        except BaseException:
            call.cancel(self._loop)
            raise
        finally:
            self._inflight.discard(call)
        if call.cancelled:
            if self._closed:
                raise ClientClosedError("the client was closed during the call") from None
            raise concurrent.futures.CancelledError()
        return call.outcome()  # type: ignore[no-any-return]

    def _submit(self, call: _Call) -> None:
        """Hand ``call`` to the loop, waking it only when no wake-up is pending already.

        Callers from many threads at once share one wake-up (one write to the loop's
        self-pipe and one pass of the loop) instead of paying one each; measured at 64
        threads in benchmarks/run.py. Ordering under the GIL makes the flag safe: the drain
        clears it before it empties the queue, so a call queued after the clear either
        sees it cleared and wakes the loop itself, or is taken by the drain in progress.
        """
        self._pending.append(call)
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except BaseException:
                self._wake_pending = False
                raise

    def _drain(self) -> None:
        """On the loop thread: start every queued call."""
        self._wake_pending = False
        pending = self._pending
        while pending:
            pending.popleft().start(self._loop)

    def call_sync(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a plain function on the loop thread (for objects bound to that loop)."""
        self._check_usable()
        return self._portal.call(functools.partial(fn, *args, **kwargs))

    def iterate(
        self, fn: Callable[..., AsyncIterator[T]], /, *args: Any, **kwargs: Any
    ) -> Generator[T, None, None]:
        """Drive an async iterator from blocking code, one trip to the loop per item.

        ``fn(*args, **kwargs)`` runs on the loop at once (so argument errors are raised
        here); the generator returned fetches each item there. Closing the generator, or
        its garbage collection, closes the async iterator on the loop; closing the client
        ends the iteration.
        """
        return self._drive(self.call_sync(fn, *args, **kwargs))

    def _drive(self, iterator: AsyncIterator[T]) -> Generator[T, None, None]:
        try:
            while True:
                try:
                    found, item = self.call(_next_item, iterator)
                except ClientClosedError:
                    if self._closed:
                        return  # the client closed: the async iterator ended with it
                    raise
                if not found:
                    return
                yield cast(T, item)
        finally:
            self._close_iterator(iterator)

    def _close_iterator(self, iterator: AsyncIterator[Any]) -> None:
        aclose = getattr(iterator, "aclose", None)
        if aclose is None or self._closed or os.getpid() != self._pid:
            return
        if threading.get_ident() == self._loop_thread:
            # Collected on the loop thread itself: it cannot wait for itself.
            self._loop.create_task(aclose())
            return
        with contextlib.suppress(ClientClosedError):
            self.call(aclose)

    def wrap_async_cm(self, cm: AbstractAsyncContextManager[T]) -> AbstractContextManager[T]:
        """Use an async context manager from blocking code; it lives on the loop.

        Unlike the portal's own wrapper, no task waits on the loop for the block to end,
        so ``close()`` (which stops lease keepers itself) never waits for an open block.
        """
        self._check_usable()
        return _BlockingContext(self, cm)

    def close(self, aclose: Callable[[], Awaitable[None]] | None = None) -> None:
        """Close the async client on its loop, then stop the loop.

        Idempotent and safe from any thread; background tasks (lease keepers, refreshes)
        are stopped by ``aclose`` before the loop ends. In a forked child it only marks
        the client closed: the loop thread exists in the parent alone.
        """
        self._shutdown(aclose if aclose is not None else self._aclose, timeout=None)

    def _shutdown(
        self, aclose: Callable[[], Awaitable[None]] | None, timeout: float | None
    ) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._closed = True
        if self._finalizer is not None:
            self._finalizer.detach()
        if os.getpid() != self._pid:
            return True
        for call in list(self._inflight):
            call.cancel(self._loop)
        done = asyncio.run_coroutine_threadsafe(_close_gracefully(aclose, self._portal), self._loop)
        if threading.get_ident() == self._loop_thread:
            return True  # collected on its own loop: the close runs once this frame returns
        try:
            done.result(timeout)
        except concurrent.futures.CancelledError:
            pass  # the loop ended while the close coroutine was finishing: it is done
        except concurrent.futures.TimeoutError:
            done.cancel()
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        return True


async def _next_item(iterator: AsyncIterator[T]) -> tuple[bool, T | None]:
    """(True, item), or (False, None) at the end: StopAsyncIteration must not cross a
    task boundary as an exception."""
    try:
        return True, await iterator.__anext__()
    except StopAsyncIteration:
        return False, None


class _Call:
    """One blocking call: what to run on the loop, and a lock its caller waits on.

    Lighter than ``asyncio.run_coroutine_threadsafe``'s concurrent future (a condition
    variable and a chain of callbacks in both directions): the caller blocks on a plain
    lock that the task's done-callback releases. Measured in benchmarks/run.py ("thread
    hop" rows). Exactly one of finishing and cancelling wins (``_state``); the caller's
    context variables travel with the call, as they do with run_coroutine_threadsafe.
    """

    __slots__ = (
        "_args",
        "_context",
        "_done",
        "_exception",
        "_fn",
        "_kwargs",
        "_result",
        "_state",
        "_task",
        "cancelled",
        "finished",
    )

    def __init__(self, fn: Callable[..., Coroutine[Any, Any, Any]], args: Any, kwargs: Any):
        self._fn = fn
        self._args = args
        self._kwargs = kwargs
        self._context = contextvars.copy_context()
        self._done = threading.Lock()
        self._done.acquire()
        self._state = threading.Lock()
        self._task: asyncio.Task[Any] | None = None
        self._result: Any = None
        self._exception: BaseException | None = None
        self.finished = False
        self.cancelled = False

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """On the loop thread: create the task (unless the call was cancelled first)."""
        if self.finished:
            return
        try:
            coroutine = self._fn(*self._args, **self._kwargs)
            self._task = self._context.run(loop.create_task, coroutine)
        except BaseException as exc:  # not a coroutine function, or the loop is closing
            self._finish(None, exc)
            return
        self._task.add_done_callback(self._landed)

    def _landed(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            self._finish(None, None, cancelled=True)
            return
        exc = task.exception()  # retrieved here, so asyncio never reports it as lost
        self._finish(None if exc is not None else task.result(), exc)

    def _finish(self, result: Any, exc: BaseException | None, *, cancelled: bool = False) -> bool:
        with self._state:
            if self.finished:
                return False
            self.finished = True
            self.cancelled = cancelled
            self._result = result
            self._exception = exc
        self._done.release()
        return True

    def cancel(self, loop: asyncio.AbstractEventLoop) -> None:
        """From any thread: wake the caller now and cancel the task on the loop."""
        if self._finish(None, None, cancelled=True):
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                loop.call_soon_threadsafe(self._cancel_task)

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def wait(self) -> None:
        self._done.acquire()  # interruptible by signals (KeyboardInterrupt) on POSIX

    def outcome(self) -> Any:
        if self._exception is None:
            return self._result
        try:
            raise self._exception
        finally:
            self._exception = None  # no cycle through the traceback


class AsyncClient(Protocol):
    async def aclose(self) -> None: ...

    def _abandon_after_fork(self) -> None: ...


_RUNNERS: weakref.WeakSet[PortalRunner] = weakref.WeakSet()


def _abandon_after_fork() -> None:
    """In a forked child no runner's loop thread exists. Its loop's epoll instance is the
    parent's, so the child must never unregister anything from it: point the child's
    descriptor of it at /dev/null (later epoll calls fail harmlessly, and the number stays
    taken, so no file of the child's can get it) and forget the connections."""
    for runner in list(_RUNNERS):
        runner._closed = True
        selector = getattr(runner._loop, "_selector", None)
        if selector is not None:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                null = os.open(os.devnull, os.O_RDONLY)
                try:
                    os.dup2(null, selector.fileno())
                finally:
                    os.close(null)
        if runner._client is not None:
            runner._client._abandon_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_abandon_after_fork)


def _run_loop(
    started: concurrent.futures.Future[tuple[BlockingPortal, asyncio.AbstractEventLoop]],
) -> None:
    async def serve() -> None:
        async with BlockingPortal() as portal:
            started.set_result((portal, asyncio.get_running_loop()))
            await portal.sleep_until_stopped()

    try:
        anyio.run(serve, backend="asyncio")
    except BaseException as exc:  # handed to the thread that waits
        if not started.done():
            started.set_exception(exc)


async def _close_gracefully(
    aclose: Callable[[], Awaitable[None]] | None, portal: BlockingPortal
) -> None:
    try:
        if aclose is not None:
            await aclose()
        # Let transports finish closing before the loop stops (aiohttp "graceful shutdown").
        await anyio.sleep(0.01)
    finally:
        await portal.stop(cancel_remaining=True)


def _close_forgotten(runner: PortalRunner, description: str) -> None:
    """weakref.finalize callback: the client was collected, or the interpreter is exiting."""
    if runner._closed or os.getpid() != runner._pid:
        return
    warnings.warn(
        f"{description} was not closed; use `with` or close()", ResourceWarning, stacklevel=1
    )
    runner._shutdown(runner._aclose, timeout=EXIT_CLOSE_TIMEOUT)


class _BlockingContext(AbstractContextManager[T]):
    """An async context manager entered and exited through blocking calls on the loop."""

    def __init__(self, runner: PortalRunner, cm: AbstractAsyncContextManager[T]) -> None:
        self._runner = runner
        self._cm = cm

    def __enter__(self) -> T:
        return self._runner.call(self._cm.__aenter__)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._runner.closed:
            return None  # close() already stopped what the block held
        return self._runner.call(self._cm.__aexit__, exc_type, exc, tb)
