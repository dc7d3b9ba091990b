"""Credentials and the access-token lifecycle.

One `TokenManager` per client keeps the current access token fresh. It logs in lazily and
runs at most one login or renewal at a time, however many coroutines need a token.

* At about two thirds of the token's lifetime (monotonic clock, from the server's
  ``expiresIn``), the next call starts a renewal in the background and goes on with the
  current token: no caller waits for a renewal.
* A renewal that fails in transit (connection, timeout, 5xx, 429) keeps the current token
  in use until it really expires and is retried with backoff.
* A renewal the server refuses, or one that would pass the max TTL, becomes a new login.
* Only callers holding no valid token (none yet, expired, or rejected by the server) wait,
  and each waits no longer than its own call's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._client_state import CallOptions
from ._constants import RENEW_FRACTION
from ._retry import RetryMode, backoff_delay
from ._serde import structure
from ._transport import Transport
from ._validation import require_route
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    CloudMetadataError,
    InfisicalError,
    InternalServerError,
    NotAuthenticatedError,
    RateLimitError,
)
from .models import AccessToken

__all__ = ["AuthStrategy", "LoginApi", "TokenAuth", "TokenManager", "UniversalAuth"]

log = logging.getLogger("infisical_async.auth")

LOGIN_PATH = "/api/v1/auth/universal-auth/login"
RENEW_PATH = "/api/v1/auth/token/renew"
REVOKE_PATH = "/api/v1/auth/token/revoke"


METADATA_TIMEOUT = 3.0
"""Seconds a cloud metadata service gets to answer: outside that cloud it never does."""


class LoginApi(Protocol):
    """What a login strategy may call while it logs in.

    Every call stays within the login's deadline and raises the client's usual errors.
    """

    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST ``body`` as JSON to the Infisical route ``path`` (e.g.
        ``/api/v1/auth/universal-auth/login``) and return the decoded answer. Retried like
        any idempotent call; never carries an access token.

        Raises:
            InvalidArgumentError: ``path`` is not a route of the site (it must start with
                ``/`` and hold no ``//`` prefix, ``@``, scheme, query or whitespace).
        """
        ...

    async def get_metadata(self, url: str, *, headers: Mapping[str, str], what: str) -> str:
        """GET a cloud metadata endpoint (instance metadata, workload identity): sent
        directly (no proxy from the environment, no redirects), with a short timeout.

        Raises:
            CloudMetadataError: unreachable, too slow, or not a 200, or the login's
                deadline has already passed; the message names ``what`` and the host.
        """
        ...


class AuthStrategy(Protocol):
    """A way to obtain an access token. ``login`` is called again whenever one is needed
    (at first use, after a rejection, past the token's max TTL), so a strategy reads its
    credentials again each time."""

    async def login(self, api: LoginApi) -> AccessToken: ...


class _TransportLoginApi:
    """``LoginApi`` over the client's transport, with one deadline for the whole login and
    the per-call options of the view that asked for it (the client's own by default)."""

    def __init__(
        self, transport: Transport, deadline: float | None, options: CallOptions = CallOptions()
    ) -> None:
        self._transport = transport
        self._deadline = deadline
        self._options = options

    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        return await self._transport.request(
            "POST",
            require_route(path, "path"),
            json=dict(body),
            mode=RetryMode.IDEMPOTENT,
            deadline=self._deadline,
            timeout=self._options.timeout,
            max_retries=self._options.max_retries,
        )

    async def get_metadata(self, url: str, *, headers: Mapping[str, str], what: str) -> str:
        host = _host_of(url)
        budget = METADATA_TIMEOUT
        if self._deadline is not None:
            budget = min(budget, self._deadline - asyncio.get_running_loop().time())
            if budget <= 0:
                # Never ask with a zero budget: aiohttp reads a total of 0 as no timeout.
                raise CloudMetadataError(
                    f"the login's deadline passed before the {what} at {host} was asked"
                )
        try:
            # Its own short-lived session: metadata services are link-local, so proxies
            # from the environment (trust_env) and the API session's headers must not apply.
            async with (
                aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=budget, connect=min(budget, 1.0))
                ) as session,
                session.get(url, headers=dict(headers), allow_redirects=False) as resp,
            ):
                text = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, UnicodeDecodeError):
            failure = CloudMetadataError(
                f"the {what} is not reachable at {host}: is this running in that cloud?"
            )
        else:
            if status == 200:
                return text
            failure = CloudMetadataError(f"the {what} at {host} answered {status}")
        raise failure  # outside the except block: no chained aiohttp error


def _host_of(url: str) -> str:
    """``host[:port]`` of ``url`` for messages: never the ``user:password@`` it may carry."""
    parts = urlsplit(url)
    host = parts.hostname or "an unknown host"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a number: leave it out rather than quote it
        port = None
    return host if port is None else f"{host}:{port}"


@attrs.frozen(kw_only=True)
class UniversalAuth:
    """Machine-identity Universal Auth (client id + client secret)."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        body = {"clientId": self.client_id, "clientSecret": self.client_secret}
        if self.organization_slug is not None:
            body["organizationSlug"] = body["subOrganizationName"] = self.organization_slug
        return structure(await api.post_json(LOGIN_PATH, body), AccessToken)


@attrs.frozen(kw_only=True)
class TokenAuth:
    """A ready access token (a token-auth token, or one obtained elsewhere).

    It is used as given: it cannot be renewed by logging in again, so when the server
    rejects it the client raises `AuthenticationError`.
    """

    token: str = attrs.field(repr=False)


class TokenManager:
    def __init__(
        self,
        transport: Transport,
        strategy: AuthStrategy | TokenAuth | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._transport = transport
        self._strategy: AuthStrategy | None = None
        self._clock = clock
        self._rng = rng
        self._token: str | None = None
        self._renew_at: float | None = None
        self._expires_at: float | None = None
        self._max_deadline: float | None = None
        self._configured_ttl = 0
        self._refresh: asyncio.Future[str] | None = None
        self._failures = 0
        """Background refreshes that failed in a row (they back off)."""
        self._retry_at = 0.0
        """No background refresh starts before this instant."""
        self.last_error: BaseException | None = None
        """Why the latest background refresh failed; None after one succeeds."""
        self._closed = False
        if isinstance(strategy, TokenAuth):
            self.set_token(strategy.token)
        else:
            self._strategy = strategy

    @property
    def strategy(self) -> AuthStrategy | None:
        return self._strategy

    @property
    def can_login(self) -> bool:
        return self._strategy is not None

    @property
    def current_token(self) -> str | None:
        return self._token

    async def login_with(
        self, strategy: AuthStrategy, deadline: float | None, options: CallOptions = CallOptions()
    ) -> AccessToken:
        """Log in now with ``strategy`` and keep it for every later login; ``options`` are
        those of the view that asked (its retries and timeouts apply)."""
        access = await strategy.login(_TransportLoginApi(self._transport, deadline, options))
        self._strategy = strategy
        self.store(access, renewed=False)
        return access

    async def renew_now(
        self, deadline: float | None, options: CallOptions = CallOptions()
    ) -> AccessToken:
        """Renew the current token now and keep what the server returns."""
        token = self._token
        if token is None:
            raise NotAuthenticatedError("there is no access token to renew")
        data = await self._transport.request(
            "POST",
            RENEW_PATH,
            json={"accessToken": token},
            mode=RetryMode.IDEMPOTENT,
            deadline=deadline,
            timeout=options.timeout,
            max_retries=options.max_retries,
        )
        access = structure(data, AccessToken)
        self.store(access, renewed=True)
        return access

    async def revoke_now(
        self, deadline: float | None, options: CallOptions = CallOptions()
    ) -> None:
        """Revoke the current token on the server and forget it."""
        token = self._token
        if token is None:
            raise NotAuthenticatedError("there is no access token to revoke")
        await self._transport.request(
            "POST",
            REVOKE_PATH,
            json={"accessToken": token},
            mode=RetryMode.IDEMPOTENT,
            deadline=deadline,
            timeout=options.timeout,
            max_retries=options.max_retries,
        )
        self.clear()

    def set_token(self, token: str) -> None:
        """Use ``token`` as is, with no known expiry (it is not renewed on a schedule)."""
        self._token = token
        self._renew_at = self._expires_at = self._max_deadline = None
        self._configured_ttl = 0

    def store(self, access: AccessToken, *, renewed: bool) -> str:
        now = self._clock()
        self._token = access.access_token
        if not renewed:
            self._configured_ttl = access.expires_in
            self._max_deadline = (
                now + access.access_token_max_ttl if access.access_token_max_ttl else None
            )
        if access.expires_in > 0:
            self._expires_at = now + access.expires_in
            jitter = 1 - 0.1 * self._rng()
            self._renew_at = now + access.expires_in * RENEW_FRACTION * jitter
        else:
            self._expires_at = self._renew_at = None
        self._failures = 0
        self._retry_at = 0.0
        self.last_error = None
        return access.access_token

    def clear(self) -> None:
        self._token = None
        self._renew_at = self._expires_at = self._max_deadline = None

    async def token(
        self, deadline: float | None = None, *, method: str = "", path: str = ""
    ) -> str:
        """The access token to send now.

        A valid token is returned at once (a due renewal runs in the background). Without
        one, the caller waits for the login, until ``deadline`` (loop clock) at most;
        ``method`` and ``path`` name the caller's request in a timeout error.
        """
        token = self._token
        if token is not None:
            renew_at = self._renew_at
            if renew_at is None:
                return token
            now = self._clock()
            if now < renew_at:
                return token
            if self._expires_at is not None and now < self._expires_at:
                if now >= self._retry_at and (self._refresh is None or self._refresh.done()):
                    self._start_refresh(force_login=False, background=True)
                return token
        return await self._wait(self._refreshing(force_login=False), deadline, method, path)

    async def after_rejection(
        self, rejected: str, deadline: float | None = None, *, method: str = "", path: str = ""
    ) -> str:
        """The server refused ``rejected``: return a new token, logging in at most once."""
        if self._token is not None and self._token != rejected:
            return self._token  # another caller already replaced it
        return await self._wait(self._refreshing(force_login=True), deadline, method, path)

    def _refreshing(self, *, force_login: bool) -> asyncio.Future[str]:
        """The refresh in flight, or a new one (which callers will wait for)."""
        if self._refresh is not None and not self._refresh.done():
            return self._refresh
        if self._strategy is None and self._token is None:
            raise NotAuthenticatedError(
                "no access token: pass auth= to the client, call "
                "client.auth.universal_auth.login(...), or client.auth.set_access_token(...)"
            )
        return self._start_refresh(force_login=force_login, background=False)

    def _start_refresh(self, *, force_login: bool, background: bool) -> asyncio.Future[str]:
        if self._closed:
            raise ClientClosedError("the client is closed")
        task = asyncio.ensure_future(self._do_refresh(force_login, background))
        # Nobody may be left waiting (all callers cancelled, or a background renewal):
        # retrieve the outcome so asyncio does not report it as never retrieved.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._refresh = task
        return task

    async def _wait(
        self, refresh: asyncio.Future[str], deadline: float | None, method: str, path: str
    ) -> str:
        remaining = None if deadline is None else deadline - asyncio.get_running_loop().time()
        failure: InfisicalError
        try:
            # shield: a caller that gives up must not cancel the refresh others wait on.
            return await asyncio.wait_for(asyncio.shield(refresh), remaining)
        except asyncio.TimeoutError:
            failure = APITimeoutError(
                "the call's deadline passed while waiting for an access token",
                method=method,
                path=path,
            )
        except asyncio.CancelledError:
            if not refresh.cancelled() or not self._closed:
                raise
            failure = ClientClosedError("the client was closed during the call")
        raise failure

    def _renewal_possible(self, now: float) -> bool:
        if self._token is None or self._expires_at is None or now >= self._expires_at:
            return False
        # Never ask to renew past the max TTL: old servers delete the token and answer 401.
        return self._max_deadline is None or now + self._configured_ttl <= self._max_deadline

    async def _do_refresh(self, force_login: bool, background: bool) -> str:
        try:
            return await self._renew_or_login(force_login)
        except Exception as exc:
            if not background:
                raise
            # The current token is still valid: keep using it and try again later.
            self._failures += 1
            self.last_error = exc
            delay = backoff_delay(self._failures, initial=1.0, rng=self._rng) or 1.0
            self._retry_at = self._clock() + min(delay, 60.0)
            log.warning(
                "refreshing the access token failed (%s: %s); the current token stays in use "
                "and the refresh is retried in %.1fs",
                type(exc).__name__,
                exc,
                delay,
            )
            raise

    async def _renew_or_login(self, force_login: bool) -> str:
        now = self._clock()
        if not force_login and self._strategy is not None and self._renewal_possible(now):
            assert self._token is not None
            try:
                data = await self._transport.request(
                    "POST", RENEW_PATH, json={"accessToken": self._token}, mode=RetryMode.IDEMPOTENT
                )
                access = structure(data, AccessToken)
            except (InternalServerError, RateLimitError, APIConnectionError):
                raise  # in transit, not a verdict on the token: keep it, retry later
            except APIStatusError as exc:
                if exc.status_code == 408:
                    raise
                log.debug(
                    "token renewal refused (%s %s); logging in again", exc.status_code, exc.error
                )
            else:
                log.debug("access token renewed; expires in %ss", access.expires_in)
                return self.store(access, renewed=True)
        if self._strategy is None:  # a token set by hand has no expiry and is not refreshed
            raise NotAuthenticatedError("the client has no credentials to log in with")
        access = await self._strategy.login(
            _TransportLoginApi(self._transport, self._transport.deadline(None))
        )
        log.debug(
            "logged in; token expires in %ss (max TTL %ss)",
            access.expires_in,
            access.access_token_max_ttl,
        )
        return self.store(access, renewed=False)

    async def aclose(self) -> None:
        self._closed = True
        if self._refresh is not None and not self._refresh.done():
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._refresh
