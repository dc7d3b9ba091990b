"""The control surface of a running embedded server: faults, counters, seeding, outages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ._context import Context, normalize_path
from ._faults import Fault
from ._routes_events import EVENTS_KEY, EventsMode, EventStreams
from ._state import server_clock_offset

if TYPE_CHECKING:
    from ._server import EmbeddedServer

__all__ = ["ServerControl"]

T = TypeVar("T")
_WAIT_SECONDS = 60.0
"""How long a control call waits for the serving loop: far beyond any control operation,
so reaching it means the loop is stuck (and the caller gets a TimeoutError, not a hang)."""


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class ServerControl:
    """Faults, clocks, counters and the listener of a running embedded server: a blocking
    surface, safe from any thread.

    Every operation runs on the loop serving requests, so it never races a request: called
    from another thread (a blocking test, a thread-based fixture, a worker) it is scheduled
    on that loop and waits for the result; called on that loop (an async test serving with
    ``async with EmbeddedServer()``) it runs at once. The four that do I/O (`stop`, `start`,
    `restart`, `sweep_leases`) would block the loop they need, so on that loop they raise
    and name their async twin on `EmbeddedServer`.
    """

    def __init__(self, ctx: Context, server: EmbeddedServer) -> None:
        self._ctx = ctx
        self._server = server

    # -- running on the server's loop ---------------------------------------------------
    def _call(self, action: Callable[[], T]) -> T:
        """Run the state-touching ``action`` on the serving loop and return its result."""
        loop = self._serving_loop()
        if loop is None or _running_loop() is loop:
            return self._on_server_clock(action)  # nothing else runs meanwhile: call it

        async def on_loop() -> T:
            return self._on_server_clock(action)

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result(_WAIT_SECONDS)

    def _await(self, action: Callable[[], Awaitable[T]], async_twin: str) -> T:
        """Run the coroutine function ``action`` on the serving loop, blocking until done."""
        loop = self._serving_loop()
        if loop is None:
            raise RuntimeError("the server is not running")
        if _running_loop() is loop:
            raise RuntimeError(
                "this blocking call would stop the loop that serves the server; "
                f"in async code on that loop use `await server.{async_twin}()`"
            )

        async def on_loop() -> T:
            self._use_server_clock()
            return await action()

        return asyncio.run_coroutine_threadsafe(on_loop(), loop).result(_WAIT_SECONDS)

    def _use_server_clock(self) -> None:
        # A task scheduled from another thread runs in a copy of that thread's context:
        # give it this server's clock, as the app does for each request.
        server_clock_offset.set(self._ctx.config.clock_offset)

    def _on_server_clock(self, action: Callable[[], T]) -> T:
        token = server_clock_offset.set(self._ctx.config.clock_offset)
        try:
            return action()
        finally:
            server_clock_offset.reset(token)

    def _serving_loop(self) -> asyncio.AbstractEventLoop | None:
        loop = self._server.loop
        return loop if loop is not None and loop.is_running() else None

    def _add(
        self, kind: Any, count: int, path: str | None, method: str | None, **extra: Any
    ) -> None:
        fault = Fault(
            kind=kind,
            remaining=count,
            path=re.compile(path) if path else None,
            method=method.upper() if method else None,
            **extra,
        )
        self._call(lambda: self._ctx.faults.add(fault))

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        retry_after: str | None = None,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (``path`` is a regex)."""
        self._add("status", count, path, method, status=status, retry_after=retry_after)

    def delay_next(
        self, count: int = 1, *, seconds: float, path: str | None = None, method: str | None = None
    ) -> None:
        """Hold the next ``count`` matching requests for ``seconds`` before answering."""
        self._add("delay", count, path, method, delay=seconds)

    def drop_next(
        self, count: int = 1, *, path: str | None = None, method: str | None = None
    ) -> None:
        """Send half of the next ``count`` matching responses, then cut the connection."""
        self._add("drop", count, path, method)

    def clear_faults(self) -> None:
        self._call(self._ctx.faults.clear)

    def expire_all_tokens(self) -> int:
        """Make every access token issued so far expired, as if its TTL had run out."""
        return self._call(self._ctx.state.expire_all_tokens)

    def create_access_token(self, *, ttl: int = 0, max_ttl: int = 0) -> str:
        """Issue a token-auth token (``ttl=0``: no expiry) for the seeded identity."""
        state = self._ctx.state

        def issue() -> str:
            record = state.issue_token(state.identity, ttl=ttl, max_ttl=max_ttl)
            return state.sign_token(record, None)

        return self._call(issue)

    def set_token_ttls(self, access_token_ttl: int, access_token_max_ttl: int) -> None:
        """Change the TTLs the seeded identity's next logins get."""
        identity = self._ctx.state.identity

        def apply() -> None:
            identity.access_token_ttl = access_token_ttl
            identity.access_token_max_ttl = access_token_max_ttl

        self._call(apply)

    # -- login methods beyond Universal Auth: what the identity is configured to accept --
    def configure_aws_auth(
        self,
        *,
        access_key_id: str,
        secret_access_key: str,
        account_id: str = "123456789012",
        arn: str = "arn:aws:iam::123456789012:user/sdk-test",
        allowed_principal_arns: Iterable[str] = ("*",),
        allowed_account_ids: Iterable[str] = (),
    ) -> None:
        """Accept SigV4-signed STS requests from this AWS key (standing in for STS)."""
        self._configure(
            "aws",
            {
                "principals": {
                    access_key_id: {
                        "secret_key": secret_access_key,
                        "account_id": account_id,
                        "arn": arn,
                    }
                },
                "allowed_arns": list(allowed_principal_arns),
                "allowed_account_ids": list(allowed_account_ids),
            },
        )

    def configure_kubernetes_auth(self, *, valid_tokens: Iterable[str]) -> None:
        """Accept these service-account tokens (standing in for a TokenReview)."""
        self._configure("kubernetes", {"tokens": set(valid_tokens)})

    def configure_gcp_auth(
        self,
        *,
        public_keys: Iterable[str],
        type: str = "gce",
        allowed_emails: Iterable[str] = ("*",),
    ) -> None:
        """Accept GCP tokens (``type`` "gce" or "iam") signed by these RSA public keys."""
        if type not in ("gce", "iam"):
            raise ValueError("type must be 'gce' or 'iam'")
        self._configure(
            "gcp",
            {
                "keys": list(public_keys),
                "type": type,
                "allowed_emails": list(allowed_emails),
            },
        )

    def configure_azure_auth(
        self, *, public_keys: Iterable[str], resource: str = "https://management.azure.com/"
    ) -> None:
        """Accept Azure managed-identity tokens signed by these keys for ``resource``."""
        self._configure("azure", {"keys": list(public_keys), "resource": resource})

    def configure_oidc_auth(
        self,
        *,
        public_keys: Iterable[str],
        audience: str,
        issuer: str | None = None,
        subject: str | None = None,
    ) -> None:
        """Accept OIDC ID tokens signed by these keys (``subject`` may use wildcards)."""
        self._configure(
            "oidc",
            {
                "keys": list(public_keys),
                "audience": audience,
                "issuer": issuer,
                "subject": subject,
            },
        )

    def configure_jwt_auth(
        self, *, public_keys: Iterable[str], audience: str | None = None
    ) -> None:
        """Accept JWTs signed by these keys (and for ``audience`` when given)."""
        self._configure("jwt", {"keys": list(public_keys), "audience": audience})

    def configure_ldap_auth(self, *, users: Mapping[str, str]) -> None:
        """Accept these LDAP usernames and passwords."""
        self._configure("ldap", {"users": dict(users)})

    def _configure(self, method: str, config: dict[str, Any]) -> None:
        self._call(lambda: self._ctx.state.auth_methods.__setitem__(method, config))

    def require_approval(self, environment: str, path: str = "/") -> None:
        """Hold writes to this folder for change approval (the server answers ``{approval}``)."""
        folder = (environment, normalize_path(path))
        self._call(lambda: self._ctx.state.approval_paths.add(folder))

    # -- change events (see _routes_events) --
    def _events(self) -> EventStreams:
        return self._server.app[EVENTS_KEY]

    def cut_event_streams(self) -> int:
        """Drop every event stream's connection abruptly (no terminating chunk)."""
        return self._call(lambda: self._events().cut_all())

    def end_event_streams(self) -> int:
        """End every event stream cleanly, as a server shutdown does."""
        return self._call(lambda: self._events().bus.end_all())

    def revoke_event_permission(self) -> int:
        """Send streams the permission-lost ``event: error`` frame and end them; later
        subscriptions get 403 until `grant_event_permission()`."""

        def revoke() -> int:
            self._events().options.denied = True
            return self._events().bus.revoke_all()

        return self._call(revoke)

    def grant_event_permission(self) -> None:
        self._call(lambda: setattr(self._events().options, "denied", False))

    def set_events(self, mode: EventsMode) -> None:
        """Switch event subscriptions on, or off (new subscriptions get the plan 400)."""
        self._call(lambda: setattr(self._events().options, "mode", mode))

    @property
    def event_streams(self) -> int:
        """Event subscriptions connected now."""
        return self._call(lambda: len(self._events().bus.subscriptions))

    @property
    def requests(self) -> dict[str, int]:
        """Requests served so far by route: ``{"GET /api/v4/secrets/{name}": 3, ...}``."""
        return self._call(lambda: dict(self._ctx.faults.requests))

    def request_count(self, route: str) -> int:
        return self._call(lambda: self._ctx.faults.requests.get(route, 0))

    @property
    def faults_injected(self) -> dict[str, int]:
        return self._call(lambda: dict(self._ctx.faults.injected))

    def reset_counts(self) -> None:
        self._call(self._ctx.faults.reset_counts)

    @property
    def not_modified(self) -> int:
        """How many conditional requests were answered 304 (ETag matched)."""
        return self.request_count("304 Not Modified")

    @property
    def rate_limited(self) -> int:
        """How many requests the emulated Cloud rate limiter refused with 429."""
        return self._call(lambda: self._ctx.limiter.refused)

    @property
    def active_leases(self) -> int:
        return self._call(lambda: len(self._ctx.state.leases))

    def sweep_leases(self) -> int:
        """Revoke expired leases now (the sweeper also does it every ``sweep_interval``) and
        return how many. Blocking (async twin: ``await server.sweep_leases()``)."""
        return self._await(self._server.sweep_leases, "sweep_leases")

    def restart(self) -> None:
        """Stop listening and listen again on the same port, keeping all state (connections
        are cut, as by a crash). Blocking (async twin: ``await server.restart()``)."""
        self._await(self._server.restart, "restart")

    def seed(
        self,
        secrets: Mapping[str, str] | None = None,
        *,
        environment: str = "dev",
        path: str = "/",
        folders: Iterable[str] = (),
    ) -> None:
        """Put shared secrets at ``path`` (created with its parents) and create ``folders``
        (absolute paths), straight into the server's state: no request, no counter moves.
        A secret of the same name at that path is replaced."""
        state = self._ctx.state
        if environment not in state.environments:
            raise ValueError(
                f"environment {environment!r} does not exist; "
                f"the server has {', '.join(state.environments)}"
            )
        base = normalize_path(path)
        items = dict(secrets or {})
        for key, value in items.items():
            if not isinstance(key, str) or not key or not isinstance(value, str):
                raise ValueError(f"seed secrets must map names to strings (got {key!r})")

        folder_paths = [base, *(normalize_path(folder) for folder in folders)]

        def apply() -> None:
            for folder in folder_paths:
                state.ensure_folder(environment, folder)
            state.seed_secrets(environment, base, items)

        self._call(apply)

    def stop(self) -> None:
        """Stop listening (clients get connection refused), keeping all state. Blocking
        (async twin: ``await server.stop_listening()``)."""
        self._await(self._server.stop_listening, "stop_listening")

    def start(self) -> None:
        """Listen again on the same port after ``stop()``. Blocking (async twin:
        ``await server.resume_listening()``)."""
        self._await(self._server.resume_listening, "resume_listening")

    @property
    def listening(self) -> bool:
        return self._call(lambda: self._server.listening)
