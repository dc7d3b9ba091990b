"""Following a project's secret changes: server-sent events, or polling where there are none.

A `Watcher` turns one event subscription (``POST /api/v1/events/subscribe/project-events``)
into `SecretChange` items and keeps it alive: it reconnects after an end of stream, a
transport error, a 429 or 5xx with a capped, jittered backoff (reset once a connection
stayed up for a healthy period), reconnects when nothing (not even a ping) arrived for
``heartbeat_timeout`` seconds, logs in again once when the server refuses the token, and
yields a `WatchResync` after every reconnect, since the server keeps no events for
anyone: what happened in the gap is lost, and the consumer must re-read.

A server without events (the framework's route-404 of an older server, or the 400 of a
plan without event subscriptions) is polled instead: the folder is listed every
``poll_interval`` with ``If-None-Match``, and the difference between two listings comes
out as the same `SecretChange` items.

Streams go through the client's one session and its error mapping; the token appears in
no log and no error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from ._retry import RetryMode
from ._serde import loads
from ._transport import Revalidation
from .errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    InfisicalError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
)

if TYPE_CHECKING:
    import aiohttp

    from ._client import AsyncInfisicalClient
    from ._client_state import ClientState

__all__ = [
    "SecretChange",
    "SecretEvent",
    "WatchItem",
    "WatchResync",
    "Watcher",
    "close_watches",
]

log = logging.getLogger("infisical_async.watch")

SUBSCRIBE_PATH = "/api/v1/events/subscribe/project-events"
SecretEvent = Literal["created", "updated", "deleted", "imports_changed"]
ALL_EVENTS: tuple[SecretEvent, ...] = ("created", "updated", "deleted", "imports_changed")
_WIRE_EVENTS: dict[SecretEvent, str] = {
    "created": "secret:create",
    "updated": "secret:update",
    "deleted": "secret:delete",
    "imports_changed": "secret:import-mutation",
}
_EVENT_OF_WIRE = {wire: event for event, wire in _WIRE_EVENTS.items()}
_PLAN_MESSAGE = "not available on your current plan"
_GEN_A_PLAN_MESSAGE = "plan restriction"
_MAX_FRAME_BYTES = 16 * 1024 * 1024


@attrs.frozen(kw_only=True)
class SecretChange:
    """A secret changed (or, for ``"imports_changed"``, what a folder imports changed).

    Attributes:
        event: ``"created"``, ``"updated"``, ``"deleted"`` or ``"imports_changed"``.
        environment: The environment slug of the change.
        secret_path: The folder of the change.
        key: The secret's key; ``None`` for ``"imports_changed"`` (the folder as a whole).
    """

    event: SecretEvent
    environment: str
    secret_path: str
    key: str | None


@attrs.frozen(kw_only=True)
class WatchResync:
    """Changes may have been missed: re-read what you follow.

    Yielded after every reconnect (the server keeps no events for anyone, so what
    happened while the watch was disconnected is lost) and once when the watch finds the
    server has no change events and switches to polling (from then on, changes are seen
    one ``poll_interval`` late at most).

    Attributes:
        reason: ``"reconnected"`` (a new event stream after a lost one) or ``"polling"``
            (the server has no change events: the folder is polled from now on).
    """

    reason: Literal["reconnected", "polling"]


WatchItem: TypeAlias = SecretChange | WatchResync
"""What a watch yields."""

WatchMode = Literal["connecting", "streaming", "polling", "unavailable"]


def check_events(events: Collection[SecretEvent] | None) -> tuple[SecretEvent, ...]:
    if events is None:
        return ALL_EVENTS
    if isinstance(events, str) or not events:
        raise InvalidArgumentError("events", "must be a non-empty collection of event names")
    chosen = tuple(dict.fromkeys(events))
    for event in chosen:
        if event not in _WIRE_EVENTS:
            raise InvalidArgumentError(
                "events", f"unknown event {event!r}; expected one of {', '.join(ALL_EVENTS)}"
            )
    return chosen


@attrs.frozen(kw_only=True)
class WatchScope:
    project_id: str
    environment: str | None
    """None: every environment (no conditions; needs unconditioned permissions)."""
    secret_path: str = "/"
    recursive: bool = True
    events: tuple[SecretEvent, ...] = ALL_EVENTS

    def register(self) -> list[dict[str, Any]]:
        if self.environment is None:
            return [{"event": _WIRE_EVENTS[e]} for e in self.events]
        # A bare path matches that folder only; "/**" is the subtree (picomatch globs).
        pattern = self.secret_path
        if self.recursive:
            pattern = "/**" if pattern == "/" else pattern + "/**"
        conditions = {"environmentSlug": self.environment, "secretPath": pattern}
        return [{"event": _WIRE_EVENTS[e], "conditions": conditions} for e in self.events]

    def covers(self, environment: str, secret_path: str) -> bool:
        if self.environment is not None and environment != self.environment:
            return False
        if secret_path == self.secret_path:
            return True
        base = "" if self.secret_path == "/" else self.secret_path
        return self.recursive and secret_path.startswith(base + "/")


@attrs.define(kw_only=True)
class WatchPolicy:
    """Timings of a watch. Every wait goes through the client's injectable sleep."""

    poll_interval: float = 30.0
    heartbeat_timeout: float = 45.0
    """Reconnect when nothing arrived for this long (the server pings every 15 s)."""
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    healthy_after: float = 30.0
    """A connection that lived this long resets the backoff."""
    poll_when_unavailable: bool = True
    """False: end (after a ``WatchResync("polling")``) instead of polling the folder."""


class _Stop(Exception):
    """The watch is being stopped (its client closes)."""


class Watcher:
    """One watch; iterate `items()` once."""

    def __init__(
        self,
        client: AsyncInfisicalClient,
        scope: WatchScope,
        policy: WatchPolicy,
        *,
        on_mode: Callable[[WatchMode], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._state: ClientState = client._state
        self.scope = scope
        self.policy = policy
        self._on_mode = on_mode
        self._rng = rng
        self._stopping = asyncio.Event()
        self._response: aiohttp.ClientResponse | None = None
        self.mode: WatchMode = "connecting"

    # -- lifecycle ----------------------------------------------------------------------
    def stop(self) -> None:
        """End the watch: the iterator finishes at its next step (safe to call twice)."""
        self._stopping.set()
        if self._response is not None:
            self._response.close()

    def _set_mode(self, mode: WatchMode) -> None:
        self.mode = mode
        if self._on_mode is not None:
            self._on_mode(mode)

    def _check(self) -> None:
        if self._stopping.is_set() or self._state.transport.closed:
            raise _Stop

    async def _pause(self, seconds: float) -> None:
        """Sleep (through the client's sleep) unless the watch is stopped first."""
        self._check()
        sleeper = asyncio.ensure_future(self._state.sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
        self._check()

    async def items(self) -> AsyncIterator[WatchItem]:
        """The changes, as they come. Ends when the client closes."""
        _register(self._state, self)
        try:
            async for item in self._run():
                yield item
        except _Stop:
            return
        except ClientClosedError:
            if not (self._stopping.is_set() or self._state.transport.closed):
                raise
        finally:
            _unregister(self._state, self)
            if self._response is not None:
                self._response.close()
                self._response = None

    # -- events -------------------------------------------------------------------------
    async def _run(self) -> AsyncIterator[WatchItem]:
        failures = 0
        relogged = False
        connected_before = False
        fresh: str | None = None  # the token of a re-login, to use at once
        while True:
            self._check()
            tokens = self._state.tokens
            token = ""
            try:
                token = fresh or await tokens.token(method="POST", path=SUBSCRIBE_PATH)
                fresh = None
                response = await self._state.transport.open_stream(
                    "POST",
                    SUBSCRIBE_PATH,
                    json={"projectId": self.scope.project_id, "register": self.scope.register()},
                    token=token,
                    answer_within=self.policy.heartbeat_timeout,
                )
            except (AuthenticationError, PermissionDeniedError) as exc:
                if relogged or not tokens.can_login:
                    raise
                log.info("event subscription refused (%s): logging in again", exc.status_code)
                relogged = True
                fresh = await tokens.after_rejection(token, method="POST", path=SUBSCRIBE_PATH)
                continue
            except (NotFoundError, BadRequestError) as exc:
                if not _no_events(exc):
                    raise
                log.info("the server has no change events (%s): polling", exc.status_code)
                self._set_mode("polling")
                yield WatchResync(reason="polling")
                if not self.policy.poll_when_unavailable:
                    self._set_mode("unavailable")
                    return
                async for item in self._poll():
                    yield item
                return
            except (APIConnectionError, RateLimitError, InternalServerError) as exc:
                failures += 1
                retry_after = exc.retry_after if isinstance(exc, APIStatusError) else None
                delay = self._backoff(failures, retry_after)
                log.info(
                    "event subscription failed (%s); retrying in %.1fs", type(exc).__name__, delay
                )
                self._set_mode("connecting")
                await self._pause(delay)
                continue
            relogged = False
            self._response = response
            started = self._state.clock()
            self._set_mode("streaming")
            if connected_before:
                yield WatchResync(reason="reconnected")
            connected_before = True
            try:
                async for item in self._read(response):
                    yield item
            finally:
                response.close()
                self._response = None
            self._check()
            if self._state.clock() - started >= self.policy.healthy_after:
                failures = 0
            failures += 1
            self._set_mode("connecting")
            await self._pause(self._backoff(failures, None))

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        policy = self.policy
        delay = min(policy.backoff_max, policy.backoff_initial * 2.0 ** (failures - 1))
        delay = min(policy.backoff_max, delay + self._rng() * delay / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, policy.backoff_max))
        return delay

    async def _read(self, response: aiohttp.ClientResponse) -> AsyncIterator[SecretChange]:
        """Parse frames until the stream ends, breaks or goes quiet (all three end it)."""
        buffer = b""
        event = ""
        data: list[bytes] = []
        while True:
            try:
                chunk = await asyncio.wait_for(
                    response.content.readany(), self.policy.heartbeat_timeout
                )
            except asyncio.TimeoutError:
                log.info(
                    "no data for %.0fs on the event stream: reconnecting",
                    self.policy.heartbeat_timeout,
                )
                return
            except Exception as exc:  # the stream broke: aiohttp payload/connection errors
                # aiohttp raises one shared "connection closed" object: its traceback would
                # keep this frame, and with it the client and its cached secrets, alive.
                exc.__traceback__ = None
                self._check()
                log.info("event stream broke (%s): reconnecting", type(exc).__name__)
                return
            if not chunk:
                self._check()
                log.info("event stream ended: reconnecting")
                return
            buffer += chunk
            if len(buffer) > _MAX_FRAME_BYTES:
                log.warning("event stream frame over %d bytes: reconnecting", _MAX_FRAME_BYTES)
                return
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.rstrip(b"\r")
                if not line:
                    if data:
                        for item in self._changes(event, b"\n".join(data)):
                            yield item
                    event, data = "", []
                    continue
                name, _, value = line.partition(b":")
                value = value[1:] if value.startswith(b" ") else value
                if name == b"event":
                    event = value.decode("utf-8", "replace")
                elif name == b"data":
                    data.append(value)
                # "id" is a timestamp (no replay), "retry" is never sent, ":" comments

    def _changes(self, event: str, data: bytes) -> list[SecretChange]:
        if event == "error":
            log.warning("the server ended the event stream with an error frame")
            return []
        try:
            frame = loads(data)
            inner = frame["data"]
            wire = inner.get("eventType") or inner.get("event") or event
            payload = inner["payload"]
        except (ValueError, KeyError, TypeError, AttributeError):
            if data.strip() != b"1":  # the first generation's raw heartbeat
                log.warning("ignoring an event frame that is not understood")
            return []
        kind = _EVENT_OF_WIRE.get(wire)
        if kind is None or kind not in self.scope.events:
            return []
        items = payload if isinstance(payload, list) else [payload]
        out = []
        for item in items:
            if not isinstance(item, dict):
                continue
            env, path = item.get("environment"), item.get("secretPath") or "/"
            key = item.get("secretKey") or item.get("secretKeys")
            if not isinstance(env, str) or not isinstance(path, str):
                continue
            if not self.scope.covers(env, path):
                continue
            out.append(
                SecretChange(
                    event=kind,
                    environment=env,
                    secret_path=path,
                    key=key if isinstance(key, str) and kind != "imports_changed" else None,
                )
            )
        return out

    # -- polling ------------------------------------------------------------------------
    async def _poll(self) -> AsyncIterator[SecretChange]:
        """List the folder every ``poll_interval`` (conditionally) and yield differences."""
        scope = self.scope
        assert scope.environment is not None
        revalidation = Revalidation()
        snapshot: dict[tuple[str, str], Any] | None = None
        while True:
            self._check()
            try:
                data = await self._client.secrets._call(
                    "GET",
                    "base",
                    "",
                    scope.project_id,
                    params={
                        "environment": scope.environment,
                        "secretPath": scope.secret_path,
                        "recursive": "true" if scope.recursive else "false",
                        "viewSecretValue": "false",
                        "expandSecretReferences": "false",
                        "include_imports": "false",
                    },
                    mode=RetryMode.IDEMPOTENT,
                    revalidation=revalidation,
                )
            except (APIConnectionError, RateLimitError, InternalServerError) as exc:
                log.info("polling for changes failed (%s); trying again", type(exc).__name__)
                data = None
            if data is not None and not revalidation.not_modified:
                current = _fingerprints(data, scope.secret_path)
                if snapshot is not None:
                    for item in _diff(snapshot, current, scope.environment):
                        if item.event in scope.events:
                            yield item
                snapshot = current
            revalidation.not_modified = False
            await self._pause(self.policy.poll_interval)


def _no_events(exc: APIStatusError) -> bool:
    """The server has no change events: route missing, or the plan lacks them."""
    from ._generations import is_route_not_found

    if isinstance(exc, NotFoundError):
        return is_route_not_found(exc)
    message = exc.message.lower()
    return _PLAN_MESSAGE in message or _GEN_A_PLAN_MESSAGE in message


def _fingerprints(data: Any, default_path: str) -> dict[tuple[str, str], Any]:
    secrets = data.get("secrets") if isinstance(data, dict) else None
    if not isinstance(secrets, list):
        raise ResponseValidationError("the response has no `secrets` list")
    out: dict[tuple[str, str], Any] = {}
    for item in secrets:
        if not isinstance(item, dict) or not isinstance(item.get("secretKey"), str):
            continue
        if item.get("type", "shared") != "shared":
            continue
        path = item.get("secretPath")
        path = path if isinstance(path, str) else default_path
        out[(path, item["secretKey"])] = (item.get("version"), item.get("updatedAt"))
    return out


def _diff(
    before: dict[tuple[str, str], Any], after: dict[tuple[str, str], Any], environment: str
) -> list[SecretChange]:
    out = []
    for (path, key), mark in after.items():
        if (path, key) not in before:
            out.append(
                SecretChange(event="created", environment=environment, secret_path=path, key=key)
            )
        elif before[(path, key)] != mark:
            out.append(
                SecretChange(event="updated", environment=environment, secret_path=path, key=key)
            )
    for path, key in before:
        if (path, key) not in after:
            out.append(
                SecretChange(event="deleted", environment=environment, secret_path=path, key=key)
            )
    return out


# -- every watch of a client ends when it closes -------------------------------------------
_WATCHERS: weakref.WeakKeyDictionary[ClientState, set[Watcher]] = weakref.WeakKeyDictionary()
_BACKGROUND: weakref.WeakKeyDictionary[ClientState, set[asyncio.Task[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _register(state: ClientState, watcher: Watcher) -> None:
    state.watching = True
    _WATCHERS.setdefault(state, set()).add(watcher)


def _unregister(state: ClientState, watcher: Watcher) -> None:
    _WATCHERS.get(state, set()).discard(watcher)


def run_in_background(state: ClientState, coro: Awaitable[Any]) -> asyncio.Task[Any]:
    """A task the client owns: `close_watches` cancels and awaits it."""
    task: asyncio.Task[Any] = asyncio.ensure_future(coro)
    state.watching = True
    tasks = _BACKGROUND.setdefault(state, set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def close_watches(state: ClientState) -> None:
    """Stop every watch of this client and wait for its background watch tasks."""
    for watcher in list(_WATCHERS.get(state, ())):
        watcher.stop()
    tasks = list(_BACKGROUND.get(state, ()))
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, InfisicalError):
        await asyncio.gather(*tasks, return_exceptions=True)
