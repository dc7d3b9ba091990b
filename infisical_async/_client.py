"""``AsyncInfisicalClient``: configuration, lifecycle and the namespaces."""

from __future__ import annotations

import copy
import os
import ssl as ssl_module
import time
import warnings
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._auth import AuthStrategy, TokenAuth, TokenManager
from ._cache import ResponseCache
from ._client_state import CallOptions, ClientDefaults, ClientState
from ._constants import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_RETRIES,
    DEFAULT_SITE_URL,
    INITIAL_RETRY_DELAY,
)
from ._generations import ApiGenerations
from ._namespace import Namespace, forget_namespaces
from ._pacing import PacingScope, shared_pacer
from ._retry import RetryMode
from ._sync_hints import async_only, sync_note
from ._transport import Revalidation, Transport
from ._ttl import MIN_TTL_MS
from ._types import NOT_GIVEN, NotGiven, Timeout
from ._validation import require_path
from .errors import AuthenticationError, InvalidArgumentError
from .resources.auth import AsyncAuth
from .resources.dynamic_secrets import AsyncDynamicSecrets
from .resources.folders import AsyncFolders
from .resources.kms import AsyncKms
from .resources.projects import AsyncProjects
from .resources.secrets import AsyncSecrets

if TYPE_CHECKING:
    from ._live_cache import ChangeCallback
    from .cache import CacheBackend

__all__ = ["AsyncInfisicalClient"]

STATUS_PATH = "/api/status"


def _site_url_from_env() -> str | None:
    for name in ("INFISICAL_SITE_URL", "INFISICAL_API_URL"):
        value = os.environ.get(name)
        if value:
            return value
    return None


def _normalise_site_url(url: str) -> str:
    url = url.strip().rstrip("/")
    # INFISICAL_API_URL conventionally ends in /api; our paths already start with it.
    if url.endswith("/api"):
        url = url[: -len("/api")]
    if not url.startswith(("http://", "https://")):
        raise InvalidArgumentError("site_url", "must start with http:// or https://")
    if "@" in urlsplit(url).netloc:
        # It would show in repr() and logs, and be sent to every host the URL names.
        raise InvalidArgumentError(
            "site_url", "must not contain credentials (user:password@); use auth= instead"
        )
    return url


def _check_max_retries(value: Any) -> int:
    """The constructor's and ``with_options``'s ``max_retries``: a count of retries."""
    if not isinstance(value, int) or value < 0:
        raise InvalidArgumentError("max_retries", "must be a non-negative integer")
    return value


def _written_project(method: str, params: Mapping[str, str] | None, json: Any) -> str | None:
    """The project a non-GET request may change (its cached reads must go)."""
    if method == "GET":
        return None
    for source in (json, params):
        if isinstance(source, Mapping):
            project = source.get("projectId") or source.get("workspaceId")
            if isinstance(project, str):
                return project
    return None


class AsyncInfisicalClient:
    """An asyncio client for the Infisical API, on one ``aiohttp.ClientSession``.

    Use it as an async context manager (or call `aclose()`)::

        async with AsyncInfisicalClient(
            auth=UniversalAuth(client_id=..., client_secret=...),
            project_id="...", environment="dev",
        ) as client:
            secret = await client.secrets.get("DATABASE_URL")

    Args:
        site_url: Base URL of the Infisical server; defaults to ``INFISICAL_SITE_URL``,
            then ``INFISICAL_API_URL``, then ``https://app.infisical.com``.
        auth: ``UniversalAuth(...)`` (logs in and renews by itself) or ``TokenAuth(...)``.
            Without it, log in with ``client.auth.universal_auth.login(...)``.
        project_id: Default project for every call.
        project_slug: Default project slug for dynamic secrets (else looked up once).
        environment: Default environment slug for every call.
        secret_path: Default folder path for secret calls.
        timeout: The deadline of each call in seconds, or a ``Timeout`` (which also sets
            connect and read limits). It covers the whole call: waiting for an access
            token, the request, a re-login and replay, and every retry and backoff wait.
            ``None`` means no total deadline; zero or negative values are refused.
        max_retries: Retries of failed idempotent requests (see the README's retry policy).
        retry_delay: First backoff delay in seconds; it doubles per retry, up to 8 s.
        cache_ttl: Seconds to keep ``secrets.get``/``list`` answers; ``0`` (default) is off.
        stale_if_error: With the cache on: seconds past ``cache_ttl`` during which a cached
            answer is served (with a warning) when the server is unreachable or answers 5xx
            after retries; ``0`` (default) never serves stale data.
        http_session: Your own ``aiohttp.ClientSession``; used as is and never closed here.
        ssl: An ``ssl.SSLContext`` (custom CA), or ``False`` to skip verification.
        proxy: Proxy URL for every request.
        headers: Extra headers for every request.
        trust_env: Let aiohttp read proxy settings from the environment.
        max_response_bytes: Refuse larger response bodies.
        min_ttl: Smallest TTL accepted for dynamic secrets (the server's floor is 1 minute).
        coalesce_reads: Identical ``secrets.get``/``list`` calls in flight at the same time
            share one request (with the cache on or off): the first caller's. If that
            caller is cancelled, another sends it again for the rest, each within its
            own deadline.
        pace_rate_limits: Follow the server's ``x-ratelimit-*`` headers (Infisical Cloud):
            wait for a spent window instead of sending into a 429, or raise
            ``RateLimitError`` at once when the wait would pass the call's deadline.
            ``"host"`` (default) shares what the server said among every process of this
            host and user (a small file in the temporary directory, written only once a
            server reports limits), ``"process"`` among the clients of this process,
            ``"off"`` sends every request as it comes.
        cache: A cache shared with other clients and processes, such as
            ``infisical_async.cache.RedisCache``: reads go memory (with ``cache_ttl``),
            then this cache, then the server; writes invalidate it for every process.
        cache_mode: ``"ttl"`` (default): cached answers are fresh for ``cache_ttl``.
            ``"live"``: the first cached read of a project starts a background watch of
            its change events; cached answers then stay valid until an event of their
            project drops them, or ``cache_ttl`` (a safety TTL) runs out.
        live_poll_interval: With ``cache_mode="live"``, how long cached answers stay fresh
            while no event stream is up (a server without change events, or an outage);
            they are then revalidated with ``If-None-Match``.
        on_change: With ``cache_mode="live"``, called (sync or async) with each
            ``SecretChange`` and ``WatchResync`` the live cache hears.
    """

    secrets = Namespace(AsyncSecrets)
    folders = Namespace(AsyncFolders)
    auth = Namespace(AsyncAuth)
    dynamic_secrets = Namespace(AsyncDynamicSecrets)
    projects = Namespace(AsyncProjects)
    kms = Namespace(AsyncKms)

    @async_only("http_session")
    @sync_note(
        "on_change runs on the client's event-loop thread: keep it short and do not call "
        "this blocking client from it."
    )
    def __init__(
        self,
        *,
        site_url: str | None = None,
        auth: AuthStrategy | TokenAuth | None = None,
        project_id: str | None = None,
        project_slug: str | None = None,
        environment: str | None = None,
        secret_path: str = "/",
        timeout: Timeout | float | None = Timeout(),
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_delay: float = INITIAL_RETRY_DELAY,
        cache_ttl: float = 0.0,
        stale_if_error: float = 0.0,
        http_session: aiohttp.ClientSession | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        proxy: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        min_ttl: timedelta = timedelta(milliseconds=MIN_TTL_MS),
        coalesce_reads: bool = True,
        pace_rate_limits: PacingScope = "host",
        cache: CacheBackend | None = None,
        cache_mode: Literal["ttl", "live"] = "ttl",
        live_poll_interval: float = 10.0,
        on_change: ChangeCallback | None = None,
    ) -> None:
        _check_max_retries(max_retries)
        if cache_ttl < 0:
            raise InvalidArgumentError("cache_ttl", "must be >= 0")
        if stale_if_error < 0 or (stale_if_error and not cache_ttl):
            raise InvalidArgumentError("stale_if_error", "must be >= 0 and needs cache_ttl > 0")
        if retry_delay < 0:
            raise InvalidArgumentError("retry_delay", "must be >= 0")
        if pace_rate_limits not in ("host", "process", "off"):
            raise InvalidArgumentError("pace_rate_limits", "must be 'host', 'process' or 'off'")
        if cache_mode not in ("ttl", "live"):
            raise InvalidArgumentError("cache_mode", "must be 'ttl' or 'live'")
        if cache_mode == "live" and not cache_ttl:
            raise InvalidArgumentError("cache_mode", "'live' needs cache_ttl > 0 (its safety TTL)")
        if live_poll_interval <= 0:
            raise InvalidArgumentError("live_poll_interval", "must be > 0")
        if on_change is not None and (cache_mode != "live" or not callable(on_change)):
            raise InvalidArgumentError("on_change", "must be a callable, with cache_mode='live'")
        base_url = _normalise_site_url(site_url or _site_url_from_env() or DEFAULT_SITE_URL)
        transport = Transport(
            base_url=base_url,
            timeout=Timeout.coerce(timeout),
            max_retries=max_retries,
            session=http_session,
            ssl=ssl,
            proxy=proxy,
            headers=headers,
            trust_env=trust_env,
            max_response_bytes=max_response_bytes,
            retry_delay=retry_delay,
            pacer=shared_pacer(base_url, pace_rate_limits),
        )
        self._state = ClientState(
            defaults=ClientDefaults(
                site_url=transport.base_url,
                project_id=project_id,
                project_slug=project_slug,
                environment=environment,
                secret_path=require_path(secret_path, "secret_path"),
                min_ttl=min_ttl,
            ),
            transport=transport,
            tokens=TokenManager(transport, auth),
            cache=ResponseCache(cache_ttl, stale_ttl=stale_if_error),
            generations=ApiGenerations(),
            coalesce_reads=coalesce_reads,
        )
        if cache_mode == "live":
            from ._live_cache import enable_live_cache  # loaded only by those who use it

            enable_live_cache(
                self._state,
                safety_ttl=cache_ttl,
                poll_interval=live_poll_interval,
                on_change=on_change,
            )
        self._options = CallOptions()
        if cache is not None:
            from ._shared_reads import SharedReads

            self._state.shared_cache = SharedReads(cache, self._state, auth)
        self._owner = True

    @property
    def site_url(self) -> str:
        """The server's base URL (without a trailing ``/api``)."""
        return self._state.defaults.site_url

    @property
    def project_id(self) -> str | None:
        """The default project of every call."""
        return self._state.defaults.project_id

    @property
    def project_slug(self) -> str | None:
        """The default project slug for dynamic secrets (else looked up once)."""
        return self._state.defaults.project_slug

    @property
    def environment(self) -> str | None:
        """The default environment slug of every call."""
        return self._state.defaults.environment

    @property
    def secret_path(self) -> str:
        """The default folder of every call that takes ``secret_path``."""
        return self._state.defaults.secret_path

    @property
    def min_ttl(self) -> timedelta:
        """The smallest TTL accepted for dynamic secrets."""
        return self._state.defaults.min_ttl

    @classmethod
    def from_env(cls, **options: Any) -> AsyncInfisicalClient:
        """Build a client from the standard Infisical environment variables.

        Credentials: ``INFISICAL_UNIVERSAL_AUTH_CLIENT_ID`` + ``_CLIENT_SECRET``, or
        ``INFISICAL_TOKEN``, or ``INFISICAL_AUTH_METHOD`` (``kubernetes``, ``aws-iam``,
        ``gcp-id-token``, ``gcp-iam``, ``azure``, ``oidc-auth``, ``jwt-auth``, ``ldap-auth``)
        with ``INFISICAL_MACHINE_IDENTITY_ID`` and what that method needs. Defaults:
        ``INFISICAL_PROJECT_ID``, ``INFISICAL_PROJECT_SLUG``, ``INFISICAL_ENVIRONMENT``,
        ``INFISICAL_SECRET_PATH``; the site from ``INFISICAL_SITE_URL``/``INFISICAL_API_URL``.
        Keyword arguments (other than ``None``) win over the environment.

        Raises:
            ConfigurationError: credentials missing or incomplete; ``missing`` names the
                variables.
        """
        from ._env import options_from_env  # loaded only by those who use it

        return cls(**options_from_env(options))

    def with_options(
        self,
        *,
        timeout: Timeout | float | NotGiven | None = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
    ) -> AsyncInfisicalClient:
        """A view of this client with other per-request options (e.g. for one call).

        It shares the session, token and cache; closing it does nothing.

        Raises:
            InvalidArgumentError: an option the constructor would refuse.
        """
        clone = copy.copy(self)
        clone._owner = False
        if not isinstance(timeout, NotGiven):
            clone._options = attrs.evolve(clone._options, timeout=Timeout.coerce(timeout))
        if not isinstance(max_retries, NotGiven):
            clone._options = attrs.evolve(
                clone._options, max_retries=_check_max_retries(max_retries)
            )
        forget_namespaces(clone)  # the copied ones call through the original
        return clone

    def _deadline(self) -> float | None:
        """The loop-clock instant by which a call of this view starting now must end."""
        return self._state.transport.deadline(self._options.timeout)

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        mode: RetryMode,
        route: str | None = None,
        revalidation: Revalidation | None = None,
    ) -> Any:
        """Send an authenticated request under one deadline; on a rejected token, log in
        once and replay once. A write drops the cached reads of its project, whatever its
        outcome (an answer lost in transit may hide a write that happened)."""
        state = self._state
        transport = state.transport
        tokens = state.tokens
        deadline = transport.deadline(self._options.timeout)
        project = _written_project(method, params, json)

        def send(token: str) -> Awaitable[Any]:
            return transport.request(
                method,
                path,
                params=params,
                json=json,
                token=token,
                mode=mode,
                deadline=deadline,
                timeout=self._options.timeout,
                max_retries=self._options.max_retries,
                route=route,
                revalidation=revalidation,
            )

        try:
            token = await tokens.token(deadline, method=method, path=path)
            try:
                return await send(token)
            except AuthenticationError:
                if not tokens.can_login:
                    raise
            return await send(
                await tokens.after_rejection(token, deadline, method=method, path=path)
            )
        finally:
            if project is not None:
                state.cache.invalidate_project(project)
                if state.shared_cache is not None:
                    await state.shared_cache.written(project)

    async def ping(self) -> float:
        """Check that the server answers and that this client holds an access token.

        Gets a token (logging in only when none is current) and calls the server's status
        route; returns the round trip in seconds. For health checks: it raises the usual
        errors (``APIConnectionError``, ``APITimeoutError``, ``AuthenticationError``, ...).
        """
        started = time.monotonic()
        transport = self._state.transport
        deadline = transport.deadline(self._options.timeout)  # one for the whole call
        await self._state.tokens.token(deadline, method="GET", path=STATUS_PATH)
        await transport.request(
            "GET",
            STATUS_PATH,
            mode=RetryMode.IDEMPOTENT,
            deadline=deadline,
            timeout=self._options.timeout,
            max_retries=self._options.max_retries,
        )
        return time.monotonic() - started

    @property
    def closed(self) -> bool:
        """True once closed, and always in a process forked after the client was made."""
        return self._state.transport.closed

    async def aclose(self) -> None:
        """Close the HTTP session (unless it was given to us). Safe to call twice.

        In a forked child it only lets go of what the parent's client holds.
        """
        state = self._state
        if not self._owner:
            return
        if state.transport.forked:
            # The session's sockets, and the tasks of keepers, watches and refreshes, are the
            # parent's: closing them here would unregister the parent's sockets from the
            # epoll instance both processes share, and stall the parent's requests.
            self._abandon_after_fork()
            return
        if state.transport.closed:
            return
        # Keepers first: revoking their leases needs the session still open. One by one,
        # in this task: a keeper's own callback may be what is closing the client.
        keepers = list(state.keepers)
        state.keepers.clear()
        for keeper in keepers:
            await keeper.stop()
        if state.watching:  # otherwise the watch module may never have been loaded
            from ._watch import close_watches

            await close_watches(state)
        if state.shared_cache is not None:
            await state.shared_cache.aclose()
        await state.tokens.aclose()
        await state.transport.aclose()

    def _abandon_after_fork(self) -> None:
        """A forked child inherited this client: drop it without touching the parent's
        connections (see ``Transport.abandon_after_fork``)."""
        self._state.transport.abandon_after_fork()

    async def __aenter__(self) -> AsyncInfisicalClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        transport = None if state is None else state.transport
        if transport is not None and transport.forked:
            # Nothing for a forked child to close; and aiohttp's own finalizers, run once
            # the session goes, would close the parent's sockets (see aclose()).
            if getattr(self, "_owner", False):
                transport.abandon_after_fork()
            return
        if (
            getattr(self, "_owner", False)
            and transport is not None
            and not transport.closed
            and transport._session is not None
            and transport._owns_session
        ):
            warnings.warn(
                "AsyncInfisicalClient was not closed; use `async with` or aclose()",
                ResourceWarning,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        if not hasattr(self, "_state"):  # __init__ refused its arguments
            return "AsyncInfisicalClient(<not initialised>)"
        return (
            f"AsyncInfisicalClient(site_url={self.site_url!r}, "
            f"project_id={self.project_id!r}, environment={self.environment!r})"
        )
