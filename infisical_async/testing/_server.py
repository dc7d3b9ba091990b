"""Starting and driving the embedded server from Python."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any

import attrs
from aiohttp import web

from ._app import SWEEPER_KEY, build_app
from ._context import COMPAT_MODES, Compat, Context, ServerConfig, normalize_path
from ._faults import Fault, FaultPlan
from ._ratelimit import RateLimitMode
from ._state import SecretChangeKind, SecretRecord, SecretVersion, ServerState, new_id

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


class ServerControl:
    """Faults, clocks and counters of a running embedded server. Safe from any thread."""

    def __init__(self, ctx: Context, server: EmbeddedServer) -> None:
        self._ctx = ctx
        self._server = server

    def _add(
        self, kind: Any, count: int, path: str | None, method: str | None, **extra: Any
    ) -> None:
        self._ctx.faults.add(
            Fault(
                kind=kind,
                remaining=count,
                path=re.compile(path) if path else None,
                method=method.upper() if method else None,
                **extra,
            )
        )

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
        self._ctx.faults.clear()

    def expire_all_tokens(self) -> int:
        """Make every access token issued so far expired, as if its TTL had run out."""
        return self._ctx.state.expire_all_tokens()

    def create_access_token(self, *, ttl: int = 0, max_ttl: int = 0) -> str:
        """Issue a token-auth token (``ttl=0``: no expiry) for the seeded identity."""
        state = self._ctx.state
        record = state.issue_token(state.identity, ttl=ttl, max_ttl=max_ttl)
        return state.sign_token(record, None)

    def set_token_ttls(self, access_token_ttl: int, access_token_max_ttl: int) -> None:
        """Change the TTLs the seeded identity's next logins get."""
        self._ctx.state.identity.access_token_ttl = access_token_ttl
        self._ctx.state.identity.access_token_max_ttl = access_token_max_ttl

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
        self._ctx.state.auth_methods["aws"] = {
            "principals": {
                access_key_id: {
                    "secret_key": secret_access_key,
                    "account_id": account_id,
                    "arn": arn,
                }
            },
            "allowed_arns": list(allowed_principal_arns),
            "allowed_account_ids": list(allowed_account_ids),
        }

    def configure_kubernetes_auth(self, *, valid_tokens: Iterable[str]) -> None:
        """Accept these service-account tokens (standing in for a TokenReview)."""
        self._ctx.state.auth_methods["kubernetes"] = {"tokens": set(valid_tokens)}

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
        self._ctx.state.auth_methods["gcp"] = {
            "keys": list(public_keys),
            "type": type,
            "allowed_emails": list(allowed_emails),
        }

    def configure_azure_auth(
        self, *, public_keys: Iterable[str], resource: str = "https://management.azure.com/"
    ) -> None:
        """Accept Azure managed-identity tokens signed by these keys for ``resource``."""
        self._ctx.state.auth_methods["azure"] = {"keys": list(public_keys), "resource": resource}

    def configure_oidc_auth(
        self,
        *,
        public_keys: Iterable[str],
        audience: str,
        issuer: str | None = None,
        subject: str | None = None,
    ) -> None:
        """Accept OIDC ID tokens signed by these keys (``subject`` may use wildcards)."""
        self._ctx.state.auth_methods["oidc"] = {
            "keys": list(public_keys),
            "audience": audience,
            "issuer": issuer,
            "subject": subject,
        }

    def configure_jwt_auth(
        self, *, public_keys: Iterable[str], audience: str | None = None
    ) -> None:
        """Accept JWTs signed by these keys (and for ``audience`` when given)."""
        self._ctx.state.auth_methods["jwt"] = {"keys": list(public_keys), "audience": audience}

    def configure_ldap_auth(self, *, users: Mapping[str, str]) -> None:
        """Accept these LDAP usernames and passwords."""
        self._ctx.state.auth_methods["ldap"] = {"users": dict(users)}

    def require_approval(self, environment: str, path: str = "/") -> None:
        """Hold writes to this folder for change approval (the server answers ``{approval}``)."""
        self._ctx.state.approval_paths.add((environment, normalize_path(path)))

    @property
    def requests(self) -> dict[str, int]:
        """Requests served so far by route: ``{"GET /api/v4/secrets/{name}": 3, ...}``."""
        return dict(self._ctx.faults.requests)

    def request_count(self, route: str) -> int:
        return self._ctx.faults.requests.get(route, 0)

    @property
    def faults_injected(self) -> dict[str, int]:
        return dict(self._ctx.faults.injected)

    def reset_counts(self) -> None:
        self._ctx.faults.reset_counts()

    @property
    def not_modified(self) -> int:
        """How many conditional requests were answered 304 (ETag matched)."""
        return self.request_count("304 Not Modified")

    @property
    def rate_limited(self) -> int:
        """How many requests the emulated Cloud rate limiter refused with 429."""
        return self._ctx.limiter.refused

    @property
    def active_leases(self) -> int:
        return len(self._ctx.state.leases)

    async def sweep_leases(self) -> int:
        """Revoke expired leases now (the sweeper also does it every ``sweep_interval``)."""
        return await self._server.app[SWEEPER_KEY].sweep()

    async def restart(self) -> None:
        """Stop listening and listen again on the same port, keeping all state."""
        await self._server.restart()

    # -- blocking helpers for tests that drive a server started with run_in_thread() --
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

        def apply() -> None:
            for folder in (base, *folders):
                state.ensure_folder(environment, normalize_path(folder))
            bucket = state.secrets_at(environment, base)
            for key, value in items.items():
                kind: SecretChangeKind = "updated" if (key, "shared", None) in bucket else "created"
                record = SecretRecord(
                    id=new_id(),
                    key=key,
                    env=environment,
                    path=base,
                    type="shared",
                    owner_id=None,
                    value=value,
                    history=[SecretVersion(1, value, "")],
                )
                state.put_secret(record, kind=kind)

        self._on_loop(apply)

    def stop(self) -> None:
        """Stop listening (clients get connection refused), keeping all state. Blocking."""
        self._on_loop(self._server._stop_listening)

    def start(self) -> None:
        """Listen again on the same port after ``stop()``. Blocking."""
        self._on_loop(self._server._resume_listening)

    @property
    def listening(self) -> bool:
        return self._server._site is not None

    def _on_loop(self, action: Callable[[], Any]) -> None:
        """Run ``action`` (a function or coroutine function) on the serving loop, and wait."""
        loop = self._server.loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or not loop.is_running() or current is loop:
            if inspect.iscoroutinefunction(action):
                raise RuntimeError(
                    "blocking control needs a server started with run_in_thread(); "
                    "in async code use `await server.stop()` / `await server.restart()`"
                )
            action()  # no other thread touches the state: plain call is safe
            return

        async def run() -> None:
            result = action()
            if inspect.isawaitable(result):
                await result

        asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=30)


class EmbeddedServer:
    """An Infisical-compatible server on loopback, for tests and demos.

    Use as ``async with EmbeddedServer() as server:`` (then ``server.info`` and
    ``server.control``), or `run_in_thread()` from synchronous code.

    ``compat`` picks the server generation to answer like: ``"current"`` (upstream),
    ``"2025"`` (June 2025: v3 secrets, v1 folders, /workspace project routes, KMS refused
    in secret-manager projects) or ``"2024"`` (October 2024: the same routes, plus its
    quirks: no ``reqId``, 401 validation failures, a reduced KMS, renames that need the
    value, ``version`` ignored on reads, dynamic-secret TTLs capped at a day).
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
        self.app = build_app(self._ctx)
        self.control = ServerControl(self._ctx, self)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        """The loop serving requests, once started by `run_in_thread()`."""

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
        sockets: list[Any] = list(getattr(server, "sockets", None) or [])
        self.port = int(sockets[0].getsockname()[1])

    async def _stop_listening(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None
        # Closing the listener leaves kept-alive connections serving: cut them too, so a
        # stopped server is unreachable, as a crashed one would be.
        if self._runner is not None and self._runner.server is not None:
            for connection in list(self._runner.server.connections):
                connection.force_close()

    async def _resume_listening(self) -> None:
        if self._runner is None:
            raise RuntimeError("the server is not running")
        if self._site is None:
            await self._listen()

    async def restart(self) -> None:
        if self._site is not None:
            await self._site.stop()
        await self._listen()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None

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
        """Serve from a background thread with its own event loop (for blocking callers)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # surfaced to the caller below
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="infisical-embedded-server", daemon=True)
        thread.start()
        started.wait()
        if failure:
            raise failure[0]
        self.loop = loop
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
