"""The HTTP layer: one aiohttp session, retries, bounded reads, error mapping."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import ssl as ssl_module
import sys
import weakref
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import attrs

from ._constants import DEFAULT_MAX_RESPONSE_BYTES, INITIAL_RETRY_DELAY
from ._generations import is_route_not_found
from ._pacing import Pacer
from ._retry import RetryMode, backoff_delay, parse_retry_after, should_retry_status
from ._serde import dumps, loads
from ._types import NOT_GIVEN, NotGiven, Timeout
from ._version import __version__
from .errors import (
    STATUS_TO_ERROR,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    ClientForkedError,
    InfisicalError,
    InternalServerError,
    InvalidArgumentError,
    RateLimitError,
    ResponseValidationError,
    UnprocessableEntityError,
)

__all__ = ["Revalidation", "Transport", "error_from_response"]

log = logging.getLogger("infisical_async.transport")

USER_AGENT = (
    f"infisical-async/{__version__} python/{'.'.join(map(str, sys.version_info[:3]))} "
    f"aiohttp/{aiohttp.__version__}"
)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


def _issue_text(issue: Any) -> str:
    if not isinstance(issue, dict):
        return "invalid request"
    path = ".".join(str(p) for p in issue.get("path") or [])
    message = str(issue.get("message", "invalid"))
    return f"{path}: {message}" if path else message


def error_from_response(
    status: int, body: bytes, headers: Mapping[str, str], *, method: str, path: str
) -> APIStatusError:
    """Map an error answer to the exception class, keeping message, error and request id."""
    data: Any = None
    try:
        data = loads(body) if body else None
    except ValueError:
        data = None
    request_id = headers.get("x-request-id") or headers.get("X-Request-Id")
    if not isinstance(data, dict):
        content_type = headers.get("Content-Type", "unknown content type").split(";")[0]
        message = f"non-JSON error response ({content_type}, {len(body)} bytes)"
        error = None
        issues: list[dict[str, Any]] = []
        details = None
    else:
        raw_message = data.get("message")
        issues = (
            [i for i in raw_message if isinstance(i, dict)] if isinstance(raw_message, list) else []
        )
        if isinstance(raw_message, list):
            message = "; ".join(_issue_text(i) for i in raw_message) or "validation failed"
        else:
            message = str(raw_message) if raw_message is not None else "no message"
        error = data.get("error") if isinstance(data.get("error"), str) else None
        request_id = data.get("reqId") if isinstance(data.get("reqId"), str) else request_id
        details = data.get("details")
    if error == "ValidationFailure":
        cls: type[APIStatusError] = UnprocessableEntityError
    elif status == 403 and error == "TokenError":
        cls = AuthenticationError
    elif status >= 500:
        cls = InternalServerError
    else:
        cls = STATUS_TO_ERROR.get(status, APIStatusError)
    return cls(
        status,
        message,
        error=error,
        request_id=request_id,
        method=method,
        path=path,
        details=details,
        issues=issues,
        retry_after=_retry_after(status, headers, message),
    )


_SECONDS_IN_MESSAGE = re.compile(r"(\d+)\s+seconds?")


def _retry_after(status: int, headers: Mapping[str, str], message: str) -> float | None:
    """How long the server asked us to wait: ``Retry-After``; for a 429 without one, the
    rate-limit window's reset, or the seconds its message names (as Infisical's own CLI
    reads them)."""
    if status not in (429, 503):
        return None
    seconds = parse_retry_after(headers)
    if seconds is not None or status != 429:
        return seconds
    reset = headers.get("x-ratelimit-reset") or ""
    if reset.isdigit() and len(reset) < 10:
        return float(reset)
    match = _SECONDS_IN_MESSAGE.search(message)
    return float(match.group(1)) if match and len(match.group(1)) < 10 else None


@attrs.define
class Revalidation:
    """A conditional read: send ``etag`` as ``If-None-Match``; afterwards ``not_modified``
    says the server answered 304 (the held answer is current) and ``etag`` holds the new
    answer's ETag otherwise."""

    etag: str | None = None
    not_modified: bool = False


class Transport:
    """Owns (or borrows) the one ``aiohttp.ClientSession`` of a client."""

    def __init__(
        self,
        *,
        base_url: str,
        timeout: Timeout,
        max_retries: int,
        session: aiohttp.ClientSession | None = None,
        ssl: ssl_module.SSLContext | bool | None = None,
        proxy: str | None = None,
        headers: Mapping[str, str] | None = None,
        trust_env: bool = False,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        retry_delay: float = INITIAL_RETRY_DELAY,
        pacer: Pacer | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.pacer = pacer
        self.timeout = timeout
        self.max_retries = max_retries
        self.retry_delay = retry_delay
        self._session = session
        self._owns_session = session is None
        if session is not None and not session.auto_decompress:
            raise InvalidArgumentError(
                "http_session", "must decompress answers (create it with auto_decompress=True)"
            )
        self._ssl = ssl
        self._proxy = proxy
        self._trust_env = trust_env
        self.max_response_bytes = max_response_bytes
        self._rng = rng
        self._headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        for key, value in (headers or {}).items():
            for existing in [k for k in self._headers if k.lower() == key.lower()]:
                del self._headers[existing]
            self._headers[key] = value
        self._closed = False
        self._pid = os.getpid()
        _TRANSPORTS.add(self)
        host = urlsplit(self.base_url).hostname or ""
        if urlsplit(self.base_url).scheme == "http" and host not in _LOOPBACK_HOSTS:
            log.warning(
                "site URL %s uses plain http: tokens and secrets travel unencrypted", self.base_url
            )

    @property
    def closed(self) -> bool:
        # A forked child's inherited copy can never be used there: it counts as closed.
        return self._closed or self.forked

    @property
    def forked(self) -> bool:
        """Whether this process is a fork of the one that made this transport."""
        return self._pid != os.getpid()

    def session(self) -> aiohttp.ClientSession:
        if self._pid != os.getpid():
            # Its connections and event loop belong to the parent process.
            raise ClientForkedError(
                "this client was created in another process (before a fork); create a new "
                "client in this process"
            )
        if self._closed:
            raise ClientClosedError("the client is closed")
        if self._session is not None and self._session.closed:
            raise ClientClosedError("the http_session given to the client is closed")
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=100, ttl_dns_cache=10, ssl=self._ssl if self._ssl is not None else True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self.timeout.to_aiohttp(),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=self._trust_env,
                json_serialize=dumps,
                raise_for_status=False,
            )
        return self._session

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._session is not None and self._owns_session:
            await self._session.close()
            await asyncio.sleep(0)

    def abandon_after_fork(self) -> None:
        """In a forked child: forget the parent's connections without touching them.

        Closing them here would unregister their sockets from the event loop's epoll
        instance, which the child shares with the parent, and stall the parent's requests.
        The session is marked closed so nothing warns about it at the child's exit.
        """
        self._closed = True
        connector = self._session.connector if self._session is not None else None
        if connector is not None and self._owns_session:
            # aiohttp has no public "forget" call; these two fields are what its close()
            # and __del__ look at.
            getattr(connector, "_conns", {}).clear()
            connector._closed = True

    def deadline(self, timeout: Timeout | None = None) -> float | None:
        """The loop-clock instant by which a call starting now must end (None: never)."""
        total = (self.timeout if timeout is None else timeout).total
        return None if total is None else asyncio.get_running_loop().time() + total

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        token: str | None = None,
        mode: RetryMode,
        deadline: float | NotGiven | None = NOT_GIVEN,
        timeout: Timeout | None = None,
        max_retries: int | None = None,
        route: str | None = None,
        revalidation: Revalidation | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON body; raise the mapped error otherwise.

        ``deadline`` (loop clock) bounds the whole call, every retry and wait included: no
        attempt runs and no backoff is slept past it. Without one, the call gets
        ``timeout.total`` from now. ``RetryMode.DELETE`` returns None when a retry finds
        the target gone after an attempt whose answer was lost.

        ``route`` names the rate-limit bucket (the URL pattern; the path by default): with
        pacing on, a spent bucket is waited out before sending, or RateLimitError is raised
        at once when that wait would pass the deadline. With ``revalidation``, the request
        is conditional and a 304 returns None (see `Revalidation`).
        """
        if path[:1] != "/" or path[1:2] in ("/", "\\"):
            # Appended to the site URL as is: anything else could name another host.
            raise InvalidArgumentError("path", "must be a route of the site, starting with '/'")
        session = self.session()
        url = self.base_url + path
        if self._owns_session:  # our defaults already live on the session
            headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        else:  # a caller's session: bring our defaults along on every request
            headers = dict(self._headers)
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
        retries = self.max_retries if max_retries is None else max_retries
        budget = self.timeout if timeout is None else timeout
        if revalidation is not None and revalidation.etag is not None:
            headers = {**(headers or {}), "If-None-Match": revalidation.etag}
        if isinstance(deadline, NotGiven):
            deadline = self.deadline(budget)
        bucket = f"{method} {route or path}"
        loop = asyncio.get_running_loop()
        attempt = 0
        maybe_delivered = False  # an earlier attempt may have reached the server
        while True:
            attempt += 1
            if self.pacer is not None and (wait := self.pacer.reserve(bucket)) > 0:
                await self._pace(wait, bucket, deadline, method, path)
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise APITimeoutError("the call's deadline passed", method=method, path=path)
            attempt_timeout = aiohttp.ClientTimeout(
                total=remaining, connect=budget.connect, sock_read=budget.read
            )
            try:
                return await self._attempt(
                    session,
                    method,
                    url,
                    path,
                    params,
                    json,
                    headers,
                    attempt_timeout,
                    bucket,
                    revalidation,
                )
            except APIStatusError as exc:
                if (
                    exc.status_code == 404
                    and maybe_delivered
                    and mode is RetryMode.DELETE
                    and not is_route_not_found(exc)  # a missing route deleted nothing
                ):
                    log.debug("%s %s: already gone after a lost answer; done", method, path)
                    return None
                if not should_retry_status(mode, exc.status_code, exc.retry_after):
                    raise
                # A gateway's 502/504 may come after the server acted; 408, 429 and 503
                # say it did not.
                maybe_delivered = maybe_delivered or exc.status_code in (502, 504)
                error: InfisicalError = exc
                reason = str(exc.status_code)
                delay = backoff_delay(
                    attempt, retry_after=exc.retry_after, initial=self.retry_delay, rng=self._rng
                )
            except APIConnectionError as exc:
                if mode is RetryMode.WRITE and exc.request_sent:
                    raise  # the server may have acted on it: not ours to repeat
                maybe_delivered = maybe_delivered or exc.request_sent
                error, reason = exc, type(exc).__name__
                delay = backoff_delay(attempt, initial=self.retry_delay, rng=self._rng)
            remaining = None if deadline is None else deadline - loop.time()
            if delay is None or attempt > retries or (remaining is not None and delay >= remaining):
                log.debug("giving up on %s %s after %s (attempt %d)", method, path, reason, attempt)
                raise error
            log.debug(
                "retrying %s %s after %s (attempt %d) in %.3fs",
                method,
                path,
                reason,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
            if self._closed:
                raise ClientClosedError("the client was closed during the call")

    async def _pace(
        self, wait: float, bucket: str, deadline: float | None, method: str, path: str
    ) -> None:
        """Wait while the bucket's window is spent (``wait``: the pacer's first answer);
        fail fast if that passes the deadline."""
        assert self.pacer is not None
        loop = asyncio.get_running_loop()
        while wait > 0:
            if deadline is not None and loop.time() + wait >= deadline:
                raise RateLimitError(
                    429,
                    f"the server's rate limit for this route is spent for {wait:.1f}s more, "
                    "past this call's deadline",
                    error="RateLimitExceeded",
                    method=method,
                    path=path,
                    retry_after=wait,
                )
            log.debug("pacing %s %s: waiting %.2fs for the rate-limit window", method, path, wait)
            await asyncio.sleep(wait)
            if self._closed:
                raise ClientClosedError("the client was closed during the call")
            wait = self.pacer.reserve(bucket)

    async def _attempt(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        path: str,
        params: Mapping[str, str] | None,
        json: Any,
        headers: dict[str, str] | None,
        timeout: aiohttp.ClientTimeout,
        bucket: str,
        revalidation: Revalidation | None,
    ) -> Any:
        """One HTTP exchange, every failure mapped to our exception classes.

        Errors are raised outside the ``except`` blocks on purpose: an aiohttp exception
        carries the request's headers (the bearer token) and a JSON error the body (secret
        values), and ``raise ... from None`` would still keep them in ``__context__``.
        """
        failure: InfisicalError
        try:
            async with session.request(
                method,
                url,
                params=params,
                json=json,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy,
                allow_redirects=False,
                raise_for_status=False,
                ssl=self._ssl if self._ssl is not None else True,
            ) as response:
                status = response.status
                if self.pacer is not None:
                    self.pacer.observe(bucket, status, response.headers)
                if revalidation is not None:
                    if status == 304 and revalidation.etag is not None:
                        revalidation.not_modified = True
                        return None
                    if status < 300:
                        revalidation.etag = response.headers.get("etag")
                body = await self._read(response, method, path)
                if status >= 300:
                    raise _refusal(status, body, response.headers, method, path)
        except _EXCHANGE_FAILURES as exc:
            mapped = self._failure_of(exc, session, method, path)
            if mapped is None:
                raise
            failure = mapped
        else:
            return _decode(body, status, method, path)
        raise failure

    def _failure_of(
        self, exc: BaseException, session: aiohttp.ClientSession, method: str, path: str
    ) -> InfisicalError | None:
        """Our error for a failed exchange (None: a RuntimeError that is a bug, not a
        closed client; the caller re-raises it). The caller raises it outside its
        ``except`` block, so nothing of the request is chained to it."""
        if isinstance(exc, asyncio.TimeoutError):  # aiohttp's timeouts included
            return APITimeoutError("request timed out", method=method, path=path)
        if isinstance(exc, aiohttp.ClientConnectorError):
            return APIConnectionError(
                f"cannot connect: {type(exc).__name__}",
                method=method,
                path=path,
                request_sent=False,
            )
        if self._closed or session.closed:  # aiohttp's "Session is closed" and friends
            return ClientClosedError("the client was closed during the call")
        if isinstance(exc, RuntimeError):
            return None
        return APIConnectionError(
            f"connection failed: {type(exc).__name__}", method=method, path=path
        )

    async def _read(self, response: aiohttp.ClientResponse, method: str, path: str) -> bytes:
        """The decoded body, refused as soon as it passes the size cap.

        Counted after decompression while streaming: a small gzip answer may inflate to any
        size, so ``Content-Length`` (the compressed size) proves nothing unless the answer is
        not compressed. At most the cap plus one decoded chunk is ever held.
        """
        limit = self.max_response_bytes
        length = response.content_length
        if length is not None and length > limit and "Content-Encoding" not in response.headers:
            raise ResponseValidationError(
                f"response body of {length} bytes exceeds the {limit}-byte limit",
                status_code=response.status,
                method=method,
                path=path,
            )
        if length is not None and "Content-Encoding" not in response.headers:
            # Under the cap and not compressed: the declared length is what will be read
            # (aiohttp stops there), so one read replaces the chunk loop and the join.
            return await response.read()
        chunks = []
        total = 0
        async for chunk in response.content.iter_chunked(65536):
            total += len(chunk)
            if total > limit:
                raise ResponseValidationError(
                    f"response body exceeds the {limit}-byte limit",
                    status_code=response.status,
                    method=method,
                    path=path,
                )
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def open_stream(
        self, method: str, path: str, *, json: Any, token: str, answer_within: float | None
    ) -> aiohttp.ClientResponse:
        """Send one request whose answer is a long-lived stream (server-sent events) and
        return the open response; the caller reads it and must ``close()`` it.

        No retries and no total deadline: ``timeout.connect`` bounds the connection and
        ``answer_within`` every wait for data, the answer's headers included (a server
        that takes the request and says nothing would otherwise hold it forever). An
        error answer is read (bounded) and raised mapped, exactly as `request` maps it,
        with nothing of the request in its chain.
        """
        session = self.session()
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if not self._owns_session:
            headers = {**self._headers, **headers}
        failure: InfisicalError
        try:
            response = await session.request(
                method,
                self.base_url + path,
                json=json,
                headers=headers,
                # sock_read bounds every wait for data: the answer's headers, and then
                # each silence of the stream (the caller reconnects on either).
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=self.timeout.connect, sock_read=answer_within
                ),
                proxy=self._proxy,
                allow_redirects=False,
                raise_for_status=False,
                ssl=self._ssl if self._ssl is not None else True,
            )
            if response.status < 300:
                return response
            try:
                body = await self._read(response, method, path)
            finally:
                response.release()
        except _EXCHANGE_FAILURES as exc:
            mapped = self._failure_of(exc, session, method, path)
            if mapped is None:
                raise
            failure = mapped
        else:
            failure = _refusal(response.status, body, response.headers, method, path)
        raise failure

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} closed={self._closed}>"


_EXCHANGE_FAILURES = (asyncio.TimeoutError, aiohttp.ClientError, OSError, RuntimeError)
"""What an exchange can fail with; `Transport._failure_of` says what each becomes."""

_TRANSPORTS: weakref.WeakSet[Transport] = weakref.WeakSet()


def _abandon_after_fork() -> None:
    # At once, not at the child's aclose() or collection: aiohttp's finalizers run in any
    # order during a collection, and one that closes a connection unregisters the parent's
    # socket from the epoll instance both processes share.
    for transport in list(_TRANSPORTS):
        transport.abandon_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_abandon_after_fork)


def _refusal(
    status: int, body: bytes, headers: Mapping[str, str], method: str, path: str
) -> InfisicalError:
    """The error for an answer of status 300 or more: the mapped API error, or, for a
    redirect, a refusal to follow (it would carry the token to another host)."""
    if status >= 400:
        return error_from_response(status, body, headers, method=method, path=path)
    return ResponseValidationError(
        f"unexpected redirect ({status}); check the site URL",
        status_code=status,
        method=method,
        path=path,
    )


def _decode(body: bytes, status: int, method: str, path: str) -> Any:
    """The JSON of a success answer. The parser's error (which quotes the body, and so
    secret values) never leaves this function, not even as a context."""
    if not body:
        return None
    try:
        return loads(body)
    except ValueError:
        pass
    raise ResponseValidationError(
        "the response body is not valid JSON", status_code=status, method=method, path=path
    )
