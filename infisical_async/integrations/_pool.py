"""A connection pool rebuilt from a dynamic-secret lease each time the keeper rotates it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

from ..errors import ClientClosedError, ConfigurationError, InvalidArgumentError

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient
    from .._keeper import HeldLease
    from ..models import Lease

__all__ = ["PoolSpec", "RotatingPool", "asyncpg_pool"]

log = logging.getLogger("infisical_async.integrations")

P = TypeVar("P")

BuildPool = Callable[[Mapping[str, Any], Mapping[str, str]], Awaitable[P]]
"""``build(credentials, secrets)``: a new pool from lease credentials and the app's secrets."""
ClosePool = Callable[[P], Awaitable[None]]


@attrs.frozen(kw_only=True)
class PoolSpec(Generic[P]):
    """How to lease credentials for a pool, and how to build and close the pool."""

    dynamic_secret: str
    ttl: str | timedelta
    build: BuildPool[P]
    close: ClosePool[P]
    secret_path: str | None = None
    environment: str | None = None
    project_slug: str | None = None
    grace_period: timedelta = timedelta(seconds=30)


class RotatingPool(Generic[P]):
    """The current pool of a lease keeper. Read ``pool`` at each use: it changes on rotation.

    On rotation a pool is built from the new credentials and swapped in; the old one is
    closed in the background (an asyncpg pool waits for its connections to be released),
    well inside the keeper's grace period, during which the old credentials still work. If
    building fails, the old pool stays and ``last_error`` says why (the health probe
    reports it).
    """

    def __init__(self, spec: PoolSpec[P], held: HeldLease, secrets: Mapping[str, str]) -> None:
        self._spec = spec
        self._held = held
        self._secrets = secrets
        self._pool: P | None = None
        self._closing: set[asyncio.Task[None]] = set()
        self.rebuilds = 0
        """How many times a new pool replaced the previous one."""
        self.last_error: BaseException | None = None
        """Why the latest rebuild failed; None once one succeeds."""

    @property
    def pool(self) -> P:
        if self._pool is None:
            raise ClientClosedError("the pool is closed")
        return self._pool

    @property
    def held(self) -> HeldLease:
        return self._held

    async def _open(self) -> None:
        self._pool = await self._spec.build(self._held.credentials, self._secrets)

    async def _rotated(self, lease: Lease) -> None:
        if self._pool is None:  # not open yet, or already closed
            return
        try:
            new = await self._spec.build(lease.credentials or {}, self._secrets)
        except Exception as exc:
            self.last_error = exc
            log.warning(
                "could not rebuild the %s pool from rotated credentials (%s); keeping the old one",
                self._spec.dynamic_secret,
                type(exc).__name__,
            )
            return
        old, self._pool = self._pool, new
        self.rebuilds += 1
        self.last_error = None
        log.info("rebuilt the %s pool with rotated credentials", self._spec.dynamic_secret)
        task = asyncio.get_running_loop().create_task(self._close(old))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, pool: P) -> None:
        try:
            await self._spec.close(pool)
        except Exception as exc:
            log.warning("closing a retired %s pool failed (%s)", self._spec.dynamic_secret, exc)

    async def _close_all(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await self._close(pool)
        while self._closing:
            await asyncio.gather(*list(self._closing))

    def __repr__(self) -> str:
        return (
            f"RotatingPool(dynamic_secret={self._spec.dynamic_secret!r}, "
            f"rebuilds={self.rebuilds}, held={self._held!r})"
        )


@contextlib.asynccontextmanager
async def open_rotating_pool(
    client: AsyncInfisicalClient, spec: PoolSpec[P], secrets: Mapping[str, str] | None = None
) -> AsyncIterator[RotatingPool[P]]:
    """Lease credentials, build the pool, keep both current; close the pool, then revoke."""
    holder: RotatingPool[P] | None = None

    async def on_rotate(lease: Lease) -> None:
        if holder is not None:
            await holder._rotated(lease)

    async with client.dynamic_secrets.leases.keep(
        spec.dynamic_secret,
        ttl=spec.ttl,
        on_rotate=on_rotate,
        grace_period=spec.grace_period,
        secret_path=spec.secret_path,
        environment=spec.environment,
        project_slug=spec.project_slug,
    ) as held:
        holder = RotatingPool(spec, held, secrets or {})
        await holder._open()
        try:
            yield holder
        finally:
            await holder._close_all()


def asyncpg_pool(
    dynamic_secret: str,
    *,
    ttl: str | timedelta,
    dsn: str | None = None,
    dsn_secret: str | None = None,
    username_key: str = "DB_USERNAME",
    password_key: str = "DB_PASSWORD",
    secret_path: str | None = None,
    environment: str | None = None,
    project_slug: str | None = None,
    grace_period: timedelta = timedelta(seconds=30),
    **pool_options: Any,
) -> PoolSpec[Any]:
    """An ``asyncpg`` pool logging in with the credentials of a dynamic-secret lease.

    The server address comes from ``dsn`` (``postgresql://host:port/db``, no user or
    password needed) or from the app's secret named ``dsn_secret``; the user and password
    from the lease. ``pool_options`` go to ``asyncpg.create_pool`` (``min_size``, ...).
    """
    if (dsn is None) == (dsn_secret is None):
        raise InvalidArgumentError("dsn", "give exactly one of dsn= and dsn_secret=")

    async def build(credentials: Mapping[str, Any], secrets: Mapping[str, str]) -> Any:
        import asyncpg  # optional: only apps using this helper need it

        address = dsn
        if dsn_secret is not None:
            if dsn_secret not in secrets:
                # Two folders are in play: say which one the secret is read from.
                raise ConfigurationError(
                    f"asyncpg_pool: no secret named {dsn_secret} was loaded: the app's "
                    "secrets_path= must name its folder (the pool's secret_path= is the "
                    "dynamic secret's)"
                )
            address = secrets[dsn_secret]
        return await asyncpg.create_pool(
            address,
            user=credentials[username_key],
            password=credentials[password_key],
            **pool_options,
        )

    async def close(pool: Any) -> None:
        await pool.close()

    return PoolSpec(
        dynamic_secret=dynamic_secret,
        ttl=ttl,
        build=build,
        close=close,
        secret_path=secret_path,
        environment=environment,
        project_slug=project_slug,
        grace_period=grace_period,
    )
