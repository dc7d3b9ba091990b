"""The lease keeper: keeps dynamic-secret credentials valid for as long as they are needed."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import attrs

from ._retry import backoff_delay
from ._ttl import parse_ms
from .errors import InfisicalError, NotFoundError
from .models import Lease

if TYPE_CHECKING:
    from .resources.leases import AsyncLeases

__all__ = ["HeldLease", "LeaseKeeper", "RotateCallback"]

log = logging.getLogger("infisical_async")

RotateCallback = Callable[[Lease], Awaitable[None] | None]


class HeldLease:
    """The lease a keeper holds right now. Read ``credentials`` each time you connect."""

    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self.renewals = 0
        """How many times the current and earlier leases were renewed."""
        self.rotations = 0
        """How many times the keeper switched to a new lease."""

    @property
    def lease(self) -> Lease:
        return self._lease

    @property
    def credentials(self) -> Mapping[str, Any]:
        """The current credentials, e.g. ``{"DB_USERNAME": ..., "DB_PASSWORD": ...}``."""
        return self._lease.credentials or {}

    def __repr__(self) -> str:
        return (
            f"HeldLease(lease_id={self._lease.id!r}, expire_at={self._lease.expire_at!r}, "
            f"renewals={self.renewals}, rotations={self.rotations})"
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)


class LeaseKeeper:
    def __init__(
        self,
        leases: AsyncLeases,
        name: str,
        *,
        ttl: str,
        location: dict[str, str],
        on_rotate: RotateCallback | None,
        revoke_on_exit: bool,
        grace_period: timedelta,
        min_ttl: timedelta,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._leases = leases
        self._name = name
        self._ttl = ttl
        self._ttl_seconds = (parse_ms(ttl) or 0) / 1000
        self._path = location["path"]
        self._environment = location["environmentSlug"]
        self._project_slug = location["projectSlug"]
        self._on_rotate = on_rotate
        self._revoke_on_exit = revoke_on_exit
        self._grace = grace_period.total_seconds()
        self._min_ttl = min_ttl.total_seconds()
        self._rng = rng
        self._max_ttl: float | None = None
        self._held: HeldLease | None = None
        self._task: asyncio.Task[None] | None = None
        self._retiring: dict[str, asyncio.Task[None]] = {}
        """Old leases waiting out their grace period, by lease id."""

    async def _new_lease(self) -> Lease:
        lease = await self._leases.create(
            self._name,
            ttl=self._ttl,
            path=self._path,
            environment=self._environment,
            project_slug=self._project_slug,
        )
        if lease.dynamic_secret is not None and lease.dynamic_secret.max_ttl:
            parsed = parse_ms(lease.dynamic_secret.max_ttl)
            self._max_ttl = parsed / 1000 if parsed else None
        return lease

    async def start(self) -> HeldLease:
        self._held = HeldLease(await self._new_lease())
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"lease-keeper:{self._name}"
        )
        return self._held

    def _headroom(self, lease: Lease) -> float | None:
        """Seconds a renewal may still add before the max TTL, or None without a cap."""
        if self._max_ttl is None or lease.created_at is None:
            return None
        limit = lease.created_at + timedelta(seconds=self._max_ttl)
        return (limit - lease.expire_at).total_seconds()

    async def _run(self) -> None:
        assert self._held is not None
        failures = 0
        while True:
            lease = self._held.lease
            remaining = (lease.expire_at - _now()).total_seconds()
            wait = max(0.0, remaining * (2 / 3) * (1 - 0.1 * self._rng()))
            if failures:
                wait = min(wait, backoff_delay(failures, rng=self._rng) or 0.0)
            await asyncio.sleep(wait)
            try:
                if lease.expire_at <= _now():
                    raise NotFoundError(404, "lease expired before it could be renewed")
                headroom = self._headroom(lease)
                if headroom is not None and headroom < max(self._min_ttl, 1.0):
                    await self._rotate("the max TTL leaves no room for a renewal")
                else:
                    ttl = (
                        self._ttl
                        if headroom is None or headroom >= self._ttl_seconds
                        else f"{int(headroom)}s"
                    )
                    renewed = await self._leases.renew(
                        lease.id,
                        ttl=ttl,
                        path=self._path,
                        environment=self._environment,
                        project_slug=self._project_slug,
                    )
                    self._held._lease = _with_credentials(renewed, lease)
                    self._held.renewals += 1
                    log.debug(
                        "lease keeper: renewed lease of %s until %s",
                        self._name,
                        renewed.expire_at.isoformat(),
                    )
                failures = 0
            except asyncio.CancelledError:
                raise
            except NotFoundError:
                log.warning(
                    "lease keeper: the lease of %s is gone; leasing new credentials", self._name
                )
                await self._replace_after_failure(retire_old=False)
                failures = 0
            except InfisicalError as exc:
                failures += 1
                log.warning(
                    "lease keeper: renewing the lease of %s failed (%s); retrying",
                    self._name,
                    type(exc).__name__,
                )

    async def _replace_after_failure(self, *, retire_old: bool) -> None:
        attempt = 0
        while True:
            try:
                await self._rotate("lease lost", retire_old=retire_old)
                return
            except asyncio.CancelledError:
                raise
            except InfisicalError as exc:
                attempt += 1
                log.warning(
                    "lease keeper: leasing new credentials for %s failed (%s)",
                    self._name,
                    type(exc).__name__,
                )
                await asyncio.sleep(backoff_delay(attempt, rng=self._rng) or 0.5)

    async def _rotate(self, reason: str, *, retire_old: bool = True) -> None:
        assert self._held is not None
        old = self._held.lease
        new = await self._new_lease()
        self._held._lease = new
        self._held.rotations += 1
        log.info("lease keeper: rotated credentials of %s (%s)", self._name, reason)
        if retire_old:
            grace = min(self._grace, max(0.0, (old.expire_at - _now()).total_seconds()))
            self._retiring[old.id] = asyncio.get_running_loop().create_task(
                self._retire(old.id, grace)
            )
        if self._on_rotate is not None:
            try:
                result = self._on_rotate(new)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("lease keeper: on_rotate callback failed")

    async def _retire(self, lease_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._revoke(lease_id)
        self._retiring.pop(lease_id, None)

    async def _revoke(self, lease_id: str) -> None:
        try:
            await self._leases.delete(
                lease_id,
                path=self._path,
                environment=self._environment,
                project_slug=self._project_slug,
            )
        except NotFoundError:
            pass  # already expired and purged
        except InfisicalError as exc:
            log.warning("lease keeper: revoking lease %s failed (%s)", lease_id, type(exc).__name__)

    async def stop(self) -> None:
        """Stop renewing; revoke pending old leases now and the current one if configured."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in self._retiring.values():
            task.cancel()
        for task in list(self._retiring.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Old leases still in their grace period hold live credentials: revoke them now.
        for lease_id in list(self._retiring):
            await self._revoke(lease_id)
        self._retiring.clear()
        if self._revoke_on_exit and self._held is not None:
            await self._revoke(self._held.lease.id)


def _with_credentials(renewed: Lease, previous: Lease) -> Lease:
    """Renew answers carry no credentials: keep the ones the lease was created with."""
    return attrs.evolve(
        renewed, credentials=previous.credentials, dynamic_secret=previous.dynamic_secret
    )
