"""The lease keeper: keeps dynamic-secret credentials valid for as long as they are needed.

Every decision is made from durations on the monotonic clock. A lease's life is measured by
the server's own timestamps of the same answer (``expireAt - createdAt`` when it is created,
the change of ``expireAt`` when it is renewed) and counted down from the moment the request
was sent, so a client clock that is off by minutes or days changes nothing.

The schedule, for a lease granted for ``L`` seconds:

* at about half of ``L`` the keeper asks for a renewal (never past the max TTL);
* a failed renewal is retried with capped, jittered backoff;
* once only a third of ``L`` is left and no renewal has worked, or when a renewal cannot
  fit under the max TTL, or when the server refuses it, new credentials are leased ahead of
  expiry, handed to ``on_rotate`` and the old lease is revoked after ``grace_period``;
* a lease the server says is gone (404) is replaced at once;
* leasing new credentials that fails backs off too (no storm of leases), and every lease
  replaced is revoked.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

from ._retry import backoff_delay
from ._ttl import MAX_TTL_MS, parse_ms
from .errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
)
from .models import Lease

if TYPE_CHECKING:
    from .resources.leases import AsyncLeases

__all__ = ["ErrorCallback", "HeldLease", "LeaseKeeper", "RotateCallback"]

log = logging.getLogger("infisical_async.keeper")

RotateCallback = Callable[[Lease], Awaitable[None] | None]
"""``on_rotate(new_lease)``: called after the keeper switched to new credentials."""
ErrorCallback = Callable[[BaseException], Awaitable[None] | None]
"""``on_error(exc)``: called each time renewing or replacing the lease fails."""

RENEW_AT = 1 / 2
"""Renew once this fraction of a lease's granted life has passed."""
ROTATE_WHEN_LEFT = 1 / 3
"""With renewals failing, lease new credentials once this fraction of the life is left."""
MIN_INTERVAL = 1.0
"""Never act on a lease more often than this (seconds): a server granting zero-length
leases must not make the keeper spin."""
MAX_BACKOFF = 30.0
"""Cap of the delay between failed attempts (seconds)."""
CREATE_TIMEOUT = 60.0
"""The least time a lease creation may take: an answer lost to a shorter timeout would
leave credentials behind that nobody can revoke (creates are not idempotent)."""


class HeldLease:
    """The lease a keeper holds right now. Read ``credentials`` each time you connect.

    ``healthy``, ``expires_in`` and ``last_error`` tell a health check how the keeper is
    doing without any I/O.
    """

    def __init__(self, lease: Lease, *, deadline: float, clock: Callable[[], float]) -> None:
        self._lease = lease
        self._deadline = deadline
        self._clock = clock
        self._stopped = False
        self.renewals = 0
        """How many times the current and earlier leases were renewed."""
        self.rotations = 0
        """How many times the keeper switched to a new lease."""
        self.last_error: BaseException | None = None
        """The error of the latest failed renewal or replacement; None once one succeeds."""

    @property
    def lease(self) -> Lease:
        return self._lease

    @property
    def credentials(self) -> Mapping[str, Any]:
        """The current credentials, e.g. ``{"DB_USERNAME": ..., "DB_PASSWORD": ...}``."""
        return self._lease.credentials or {}

    @property
    def expires_in(self) -> float:
        """Seconds until the current lease expires (0 once it has), by the monotonic clock."""
        return max(0.0, self._deadline - self._clock())

    @property
    def healthy(self) -> bool:
        """True while the keeper runs, the lease is valid and the last attempt worked."""
        return not self._stopped and self.last_error is None and self.expires_in > 0

    def __repr__(self) -> str:
        return (
            f"HeldLease(lease_id={self._lease.id!r}, expires_in={self.expires_in:.0f}, "
            f"healthy={self.healthy}, renewals={self.renewals}, rotations={self.rotations})"
        )


def granted_seconds(lease: Lease, asked: float) -> float:
    """The life the server granted a new lease, by its own clock (``asked`` without one).

    Never more than was asked for: a server claiming a longer life than it can have
    granted must not make the keeper sleep past the real expiry.
    """
    if lease.created_at is None:
        return asked
    granted = max(0.0, (lease.expire_at - lease.created_at).total_seconds())
    return min(granted, asked) if asked > 0 else granted


class LeaseKeeper:
    def __init__(
        self,
        leases: AsyncLeases,
        name: str,
        *,
        ttl: str,
        location: dict[str, str],
        on_rotate: RotateCallback | None,
        on_error: ErrorCallback | None = None,
        revoke_on_exit: bool,
        grace_period: timedelta,
        min_ttl: timedelta,
        creator: AsyncLeases | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._leases = leases
        self._creator = creator or leases
        """Creates go through a view with a longer deadline (CREATE_TIMEOUT)."""
        self._name = name
        self._ttl = ttl
        self._ttl_seconds = (parse_ms(ttl) or 0) / 1000
        self._path = location["path"]
        self._environment = location["environment"]
        self._project_slug = location["project_slug"]
        self._on_rotate = on_rotate
        self._on_error = on_error
        self._revoke_on_exit = revoke_on_exit
        self._grace = grace_period.total_seconds()
        self._min_ttl = min_ttl.total_seconds()
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._max_ttl: float | None = None
        self._held: HeldLease | None = None
        self._span = 0.0
        """The life the current lease was granted (or last extended to), in seconds."""
        self._task: asyncio.Task[None] | None = None
        self._retiring: dict[str, asyncio.Task[None]] = {}
        """Old leases waiting out their grace period (or a failed revocation), by id."""
        self._creating: set[asyncio.Future[Lease]] = set()
        """Creates whose caller was cancelled before the answer came: stop() revokes them."""
        self._stopped = False

    @property
    def held(self) -> HeldLease | None:
        return self._held

    # -- requests --------------------------------------------------------------------------
    async def _new_lease(self) -> tuple[Lease, float]:
        """Lease new credentials; return the lease and its monotonic deadline."""
        sent = self._clock()
        create = asyncio.ensure_future(
            self._creator.create(
                self._name,
                ttl=self._ttl,
                secret_path=self._path,
                environment=self._environment,
                project_slug=self._project_slug,
            )
        )
        create.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._creating.add(create)
        try:
            # shield: cancelled here (the block exits, the caller times out), the request
            # goes on, and stop() revokes whatever lease it brings.
            lease = await asyncio.shield(create)
        except asyncio.CancelledError:
            raise
        except BaseException:
            self._creating.discard(create)
            raise
        self._creating.discard(create)
        granted = granted_seconds(lease, self._ttl_seconds)
        if granted < MIN_INTERVAL:
            # A lease with no life is useless, and switching to it would lease again at
            # once: give it back and fail this attempt, so the caller backs off.
            await self._revoke(lease.id)
            raise ResponseValidationError(
                f"the server granted a new lease {granted:.0f}s of life (expireAt - createdAt)"
            )
        if lease.dynamic_secret is not None and lease.dynamic_secret.max_ttl:
            parsed = parse_ms(lease.dynamic_secret.max_ttl)
            self._max_ttl = min(parsed, MAX_TTL_MS) / 1000 if parsed else None
        return lease, sent + granted

    def _headroom(self, lease: Lease) -> float | None:
        """Seconds a renewal may still add before the max TTL (server timestamps only)."""
        if self._max_ttl is None or lease.created_at is None:
            return None
        try:
            limit = lease.created_at + timedelta(seconds=self._max_ttl)
        except OverflowError:  # past the year 9999: no cap worth the name
            return None
        return (limit - lease.expire_at).total_seconds()

    async def _renew(self, held: HeldLease) -> None:
        lease = held.lease
        headroom = self._headroom(lease)
        asked = self._ttl_seconds if headroom is None else min(self._ttl_seconds, headroom)
        ttl = self._ttl if asked == self._ttl_seconds else f"{int(asked)}s"
        renewed = await self._leases.renew(
            lease.id,
            ttl=ttl,
            secret_path=self._path,
            environment=self._environment,
            project_slug=self._project_slug,
        )
        # The server added to the old expiry: move our deadline by as much (never more
        # than was asked for, whatever the answer claims).
        added = min((renewed.expire_at - lease.expire_at).total_seconds(), max(asked, 1.0))
        if added <= 0:
            raise ResponseValidationError("the renewal did not extend the lease (expireAt)")
        held._lease = attrs.evolve(
            renewed, credentials=lease.credentials, dynamic_secret=lease.dynamic_secret
        )
        held._deadline += added
        self._span = max(0.0, held._deadline - self._clock())
        held.renewals += 1
        log.debug("lease keeper: renewed the lease of %s (+%.0fs)", self._name, added)

    # -- the loop --------------------------------------------------------------------------
    async def start(self) -> HeldLease:
        lease, deadline = await self._new_lease()
        self._held = HeldLease(lease, deadline=deadline, clock=self._clock)
        self._span = max(0.0, deadline - self._clock())
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"lease-keeper:{self._name}"
        )
        return self._held

    def _renewal_fits(self, lease: Lease) -> bool:
        headroom = self._headroom(lease)
        return headroom is None or headroom >= max(self._min_ttl, 1.0)

    async def _run(self) -> None:
        held = self._held
        assert held is not None
        failures = 0
        while not self._stopped:
            left = held._deadline - self._clock()
            rotate_at = self._span * ROTATE_WHEN_LEFT
            if failures == 0:
                jitter = 1 - 0.1 * self._rng()
                wait = (left - self._span * (1 - RENEW_AT)) * jitter
            else:
                wait = min(
                    backoff_delay(failures, initial=MIN_INTERVAL, rng=self._rng) or MIN_INTERVAL,
                    MAX_BACKOFF,
                    max(0.0, left - rotate_at),
                )
            await self._sleep(max(MIN_INTERVAL, wait))
            left = held._deadline - self._clock()
            try:
                if left <= 0:
                    await self._replace(held, "the lease expired before it could be renewed")
                elif failures and left <= rotate_at:
                    await self._replace(held, "renewals keep failing")
                elif not self._renewal_fits(held.lease):
                    await self._replace(held, "the max TTL leaves no room for a renewal")
                else:
                    await self._renew(held)
                failures = 0
                held.last_error = None
            except asyncio.CancelledError:
                raise
            except NotFoundError as exc:
                await self._report(exc, "the lease is gone; leasing new credentials")
                await self._replace(held, "the lease was lost", lost=True)
                failures = 0
                held.last_error = None
            except APIStatusError as exc:
                if _transient(exc):
                    failures += 1
                    await self._report(exc, "renewing the lease failed; retrying")
                else:  # the server refuses to renew it: new credentials, now
                    await self._report(exc, "the server refused the renewal; rotating")
                    await self._replace(held, "renewal refused")
                    failures = 0
                    held.last_error = None
            except Exception as exc:  # the keeper must outlive any failure
                failures += 1
                await self._report(exc, "renewing the lease failed; retrying")

    async def _replace(self, held: HeldLease, reason: str, *, lost: bool = False) -> None:
        """Lease new credentials (retrying with backoff), switch to them, retire the old."""
        attempt = 0
        while True:
            if self._stopped:  # a callback closed the client meanwhile
                return
            try:
                lease, deadline = await self._new_lease()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep trying while the old lease lives
                attempt += 1
                await self._report(exc, "leasing new credentials failed; retrying")
                delay = backoff_delay(attempt, initial=MIN_INTERVAL, rng=self._rng)
                await self._sleep(min(delay or MIN_INTERVAL, MAX_BACKOFF))
        old, old_deadline = held.lease, held._deadline
        held._lease, held._deadline = lease, deadline
        self._span = max(0.0, deadline - self._clock())
        held.rotations += 1
        log.info("lease keeper: rotated the credentials of %s (%s)", self._name, reason)
        if not lost:
            grace = min(self._grace, max(0.0, old_deadline - self._clock()))
            self._retiring[old.id] = asyncio.get_running_loop().create_task(
                self._retire(old.id, grace), name=f"lease-keeper:{self._name}:retire"
            )
        if self._on_rotate is not None:
            try:
                result = self._on_rotate(lease)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("lease keeper: the on_rotate callback of %s failed", self._name)

    async def _report(self, exc: BaseException, what: str) -> None:
        assert self._held is not None
        self._held.last_error = exc
        log.warning(
            "lease keeper (%s): %s: %s: %s",
            self._name,
            what,
            type(exc).__name__,
            exc,
            exc_info=not isinstance(exc, APIStatusError | APIConnectionError),
        )
        if self._on_error is not None:
            try:
                result = self._on_error(exc)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("lease keeper: the on_error callback of %s failed", self._name)

    async def _retire(self, lease_id: str, delay: float) -> None:
        """Revoke an old lease after its grace period, retrying (with backoff) until the
        server confirms; stop() makes a last attempt for whatever is still pending."""
        await self._sleep(delay)
        attempt = 0
        while not await self._revoke(lease_id):
            attempt += 1
            delay = backoff_delay(attempt, initial=MIN_INTERVAL, rng=self._rng) or MIN_INTERVAL
            await self._sleep(min(delay, MAX_BACKOFF))
        self._retiring.pop(lease_id, None)

    async def _revoke(self, lease_id: str) -> bool:
        """Revoke a lease; True once it is gone (also when it already was)."""
        try:
            await self._leases.delete(
                lease_id,
                secret_path=self._path,
                environment=self._environment,
                project_slug=self._project_slug,
            )
        except NotFoundError:
            pass  # already expired and purged
        except Exception as exc:  # reported; the caller decides whether to try again
            log.warning(
                "lease keeper: revoking lease %s of %s failed: %s: %s",
                lease_id,
                self._name,
                type(exc).__name__,
                exc,
            )
            return False
        return True

    async def stop(self) -> None:
        """Stop renewing; revoke old leases now and the current one if configured.

        Idempotent: the second call (a client closed while the ``keep`` block was open,
        then the block ending) does nothing. Safe from the keeper's own callbacks: the
        loop then ends once the callback returns. Creates still in flight are waited for
        and their leases revoked.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._held is not None:
            self._held._stopped = True
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        retiring = list(self._retiring.items())
        for _, pending in retiring:
            pending.cancel()
        for _, pending in retiring:
            with contextlib.suppress(asyncio.CancelledError):
                await pending
        self._retiring.clear()
        # Old leases still in their grace period hold live credentials: revoke them now.
        ids = [lease_id for lease_id, _ in retiring]
        for create in list(self._creating):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                ids.append((await create).id)
        self._creating.clear()
        if self._revoke_on_exit and self._held is not None:
            ids.append(self._held.lease.id)
        await asyncio.gather(*(self._revoke(lease_id) for lease_id in dict.fromkeys(ids)))


def _transient(exc: APIStatusError) -> bool:
    """Failures worth retrying the renewal for (the server may answer better soon)."""
    return isinstance(exc, InternalServerError | RateLimitError | AuthenticationError) or (
        exc.status_code in (408, 409)
    )
