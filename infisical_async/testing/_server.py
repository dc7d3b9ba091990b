"""Starting and driving the embedded server from Python."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web
from anyio.from_thread import start_blocking_portal

from ._app import SWEEPER_KEY, build_app
from ._context import COMPAT_MODES, Compat, Context, ServerConfig
from ._control import ServerControl
from ._faults import FaultPlan
from ._ratelimit import RateLimitMode
from ._routes_events import EventOptions, EventsMode
from ._state import ServerState, server_clock_offset

__all__ = ["EmbeddedServer", "ServerControl", "ServerInfo"]


@attrs.frozen(kw_only=True)
class ServerInfo:
    """What a client needs to reach the server: the same facts the CLI prints."""

    site_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    project_id: str
    project_slug: str
    environments: tuple[str, ...]
    identity_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "site_url": self.site_url,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "project_id": self.project_id,
            "project_slug": self.project_slug,
            "environments": list(self.environments),
        }


class EmbeddedServer:
    """An Infisical-compatible server on loopback, for tests and demos.

    Use as ``async with EmbeddedServer() as server:`` (then ``server.info`` and
    ``server.control``), or `run_in_thread()` from synchronous code. ``server.control`` is
    blocking and safe from any thread; the async methods here (`restart`, `stop_listening`,
    `resume_listening`, `sweep_leases`) are for code running on the serving loop.

    ``compat`` picks the server generation to answer like: ``"current"`` (upstream),
    ``"2025"`` (June 2025: v3 secrets, v1 folders, /workspace project routes, KMS refused
    in secret-manager projects) or ``"2024"`` (October 2024: the same routes, plus its
    quirks: no ``reqId``, 401 validation failures, a reduced KMS, renames that need the
    value, ``version`` ignored on reads, dynamic-secret TTLs capped at a day).

    Change events (``POST /api/v1/events/subscribe/project-events``, current servers only):
    ``events="off"`` answers the 400 plan message of an unlicensed server; the
    ``events_*`` options set the delay from a write to its frame, the ping interval, the
    cut after a maximum duration and the live subscriptions allowed per project.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str | None = None,
        client_secret: str | None = None,
        access_token_ttl: int = 3600,
        access_token_max_ttl: int = 86400,
        compat: Compat = "current",
        allow_short_ttl: bool = False,
        sweep_interval: float = 0.25,
        clock_offset: float = 0.0,
        rate_limits: RateLimitMode = "off",
        rate_window: float = 60.0,
        events: EventsMode = "on",
        events_publish_delay: float = 0.05,
        events_ping_interval: float = 15.0,
        events_max_duration: float = 3600.0,
        events_max_connections: int = 100,
    ) -> None:
        if compat not in COMPAT_MODES:
            raise ValueError("compat must be 'current', '2025' or '2024'")
        self.host = host
        self.port = port
        self.state = ServerState(
            client_id=client_id,
            client_secret=client_secret,
            access_token_ttl=access_token_ttl,
            access_token_max_ttl=access_token_max_ttl,
        )
        self.config = ServerConfig(
            compat=compat,
            allow_short_ttl=allow_short_ttl,
            sweep_interval=sweep_interval,
            clock_offset=clock_offset,
            rate_limits=rate_limits,
            rate_window=rate_window,
        )
        self._ctx = Context(self.state, self.config, FaultPlan())
        if events not in ("on", "off"):
            raise ValueError("events must be 'on' or 'off'")
        self.app = build_app(
            self._ctx,
            EventOptions(
                mode=events,
                publish_delay=events_publish_delay,
                ping_interval=events_ping_interval,
                max_duration=events_max_duration,
                max_connections=events_max_connections,
            ),
        )
        self.control = ServerControl(self._ctx, self)
        self._runner: web.AppRunner | None = None
        self._listeners: list[Any] = []
        """Every asyncio server this one listened with (restarts make new ones)."""
        self._site: web.TCPSite | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop serving requests, once started (the caller's, or `run_in_thread()`'s)."""

    @property
    def info(self) -> ServerInfo:
        if self._runner is None:
            raise RuntimeError("the server is not running")
        state = self.state
        return ServerInfo(
            site_url=f"http://{self.host}:{self.port}",
            client_id=state.identity.client_id,
            client_secret=state.identity.client_secret,
            project_id=state.project_id,
            project_slug=state.project_slug,
            environments=tuple(state.environments),
            identity_id=state.identity.id,
        )

    async def start(self) -> ServerInfo:
        self.loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await self._listen()
        return self.info

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await self._site.start()
        server = self._site._server
        assert server is not None
        self._listeners.append(server)
        sockets: list[Any] = list(getattr(server, "sockets", None) or [])
        self.port = int(sockets[0].getsockname()[1])

    @property
    def listening(self) -> bool:
        """Whether the server accepts connections (false after `stop_listening`)."""
        return self._site is not None

    async def stop_listening(self) -> None:
        """Stop listening (clients get connection refused), keeping all state."""
        if self._site is not None:
            await self._site.stop()
            self._site = None
        # Closing the listener leaves kept-alive connections serving: cut them too, so a
        # stopped server is unreachable, as a crashed one would be.
        if self._runner is not None and self._runner.server is not None:
            for connection in list(self._runner.server.connections):
                connection.force_close()

    async def resume_listening(self) -> None:
        """Listen again on the same port after `stop_listening`."""
        if self._runner is None:
            raise RuntimeError("the server is not running")
        if self._site is None:
            await self._listen()

    async def restart(self) -> None:
        """Stop listening and listen again on the same port, keeping all state."""
        if self._site is not None:
            await self._site.stop()
        await self._listen()

    async def sweep_leases(self) -> int:
        """Revoke expired leases now (the sweeper also does it every ``sweep_interval``)."""
        token = server_clock_offset.set(self.config.clock_offset)  # judge expiry by our clock
        try:
            return await self.app[SWEEPER_KEY].sweep()
        finally:
            server_clock_offset.reset(token)

    async def stop(self) -> None:
        """Shut the server down: listener, connections and the lease sweeper."""
        if self._runner is not None:
            server = self._runner.server
            connections = [] if server is None else list(server.connections)
            await self._runner.cleanup()
            for connection in connections:  # a stream cut mid-answer may be left open
                transport = connection.transport
                if transport is not None and not transport.is_closing():
                    transport.abort()
            for listener in self._listeners:
                abort_clients = getattr(listener, "abort_clients", None)  # Python 3.13+
                if abort_clients is not None:
                    abort_clients()
            self._listeners.clear()
            # Let the transports' connection_lost callbacks run while this loop still does,
            # rather than leaving open transports to be finalised after it.
            for _ in range(3):
                await asyncio.sleep(0)
            self._runner = None
            self._site = None
        self.loop = None

    async def __aenter__(self) -> EmbeddedServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[EmbeddedServer]:
        """Serve from a background thread with its own event loop (for blocking callers).

        The thread is anyio's blocking portal (a daemon thread, joined on exit), the same
        machinery the blocking client runs on; ``server.control`` drives it from any thread.
        """
        with start_blocking_portal(name="infisical-embedded-server") as portal:
            portal.call(self.start)
            try:
                yield self
            finally:
                portal.call(self.stop)
