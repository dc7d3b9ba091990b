"""``client.dynamic_secrets.leases``: credentials leased from a dynamic secret."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._retry import RetryMode
from .._serde import structure
from .._sync_hints import sync_note
from .._ttl import TTLInput, ttl_to_wire
from .._validation import require_str
from ..errors import LeaseRevocationError, ResponseValidationError
from ..models import Lease
from ._base import AsyncResource, segment, unwrap

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient
    from .._keeper import ErrorCallback, HeldLease, RotateCallback

__all__ = ["AsyncLeases"]


_BASE = "/api/v1/dynamic-secrets/leases"


class AsyncLeases(AsyncResource):
    """Leases. Reached as ``client.dynamic_secrets.leases``.

    Every method takes ``secret_path``, ``environment`` and ``project_slug`` of the dynamic secret
    (defaults as for ``client.dynamic_secrets``).
    """

    async def _location(
        self, project_slug: str | None, environment: str | None, secret_path: str | None
    ) -> dict[str, str]:
        from .dynamic_secrets import resolve_location

        return await resolve_location(self._client, project_slug, environment, secret_path)

    async def create(
        self,
        dynamic_secret_name: str,
        *,
        ttl: TTLInput | None = None,
        config: dict[str, Any] | None = None,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Lease new credentials; they are in ``lease.credentials`` (left out of ``repr``).

        Args:
            dynamic_secret_name: The dynamic secret to lease from.
            ttl: Lease lifetime (``"5m"``, a timedelta); the dynamic secret's default if None.
            config: Provider-specific lease options (e.g. Kubernetes ``{"namespace": ...}``).

        Raises:
            InvalidArgumentError: bad TTL (checked before sending).
            NotFoundError: no such dynamic secret.
            BadRequestError: TTL above the max TTL, or the provider refused.
        """
        body: dict[str, Any] = {
            **await self._location(project_slug, environment, secret_path),
            "dynamicSecretName": require_str(dynamic_secret_name, "dynamic_secret_name"),
        }
        if ttl is not None:
            body["ttl"] = ttl_to_wire(ttl, argument="ttl", minimum=self._client.min_ttl)
        if config is not None:
            body["config"] = config
        data = await self._client._request("POST", _BASE, json=body, mode=RetryMode.WRITE)
        lease = unwrap(data, "lease")
        if not isinstance(lease, dict):
            raise ResponseValidationError("unexpected response shape for Lease: $.lease")
        return structure(
            {**lease, "dynamicSecret": data.get("dynamicSecret"), "data": data.get("data")}, Lease
        )

    async def get(
        self,
        lease_id: str,
        *,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Fetch a lease (without its credentials).

        Raises:
            NotFoundError: no such lease (revoked, or expired and purged).
        """
        params = await self._location(project_slug, environment, secret_path)
        data = await self._client._request(
            "GET",
            f"{_BASE}/{segment(lease_id, 'lease_id')}",
            params=params,
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "lease"), Lease)

    async def list(
        self,
        dynamic_secret_name: str,
        *,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> tuple[Lease, ...]:
        """List the leases of a dynamic secret."""
        name = require_str(dynamic_secret_name, "dynamic_secret_name").lower()
        params = await self._location(project_slug, environment, secret_path)
        data = await self._client._request(
            "GET",
            f"/api/v1/dynamic-secrets/{segment(name, 'dynamic_secret_name')}/leases",
            params=params,
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "leases"), tuple[Lease, ...])

    async def renew(
        self,
        lease_id: str,
        *,
        ttl: TTLInput | None = None,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Extend a lease: the server adds ``ttl`` to its *current expiry* (not to now).

        Not idempotent, so never sent twice: once the request may have reached the server
        (a timeout, a dropped connection), the error is raised rather than the renewal
        repeated, which would add ``ttl`` twice.

        Raises:
            BadRequestError: the new expiry would pass the dynamic secret's max TTL.
            NotFoundError: the lease is gone (revoked or expired).
        """
        body: dict[str, Any] = dict(await self._location(project_slug, environment, secret_path))
        if ttl is not None:
            body["ttl"] = ttl_to_wire(ttl, argument="ttl", minimum=self._client.min_ttl)
        data = await self._client._request(
            "POST",
            f"{_BASE}/{segment(lease_id, 'lease_id')}/renew",
            json=body,
            mode=RetryMode.WRITE,
        )
        return structure(unwrap(data, "lease"), Lease)

    async def delete(
        self,
        lease_id: str,
        *,
        force: bool = False,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease | None:
        """Revoke a lease: the provider drops the credentials, then the lease is deleted.

        Args:
            force: Delete the lease even if the provider fails to revoke the credentials.

        Returns:
            The lease as the server deleted it; ``None`` when a retry found it already gone
            (an earlier attempt whose answer was lost revoked it: the goal holds).

        Raises:
            LeaseRevocationError: the provider failed and ``force`` is False (the server
                keeps the lease and retries; it answers 200, which is not success).
            NotFoundError: no such lease.
        """
        body = {**await self._location(project_slug, environment, secret_path), "isForced": force}
        data = await self._client._request(
            "DELETE",
            f"{_BASE}/{segment(lease_id, 'lease_id')}",
            json=body,
            mode=RetryMode.DELETE,
        )
        if data is None:
            return None
        lease = structure(unwrap(data, "lease"), Lease)
        if lease.status and not force:
            raise LeaseRevocationError(lease)
        return lease

    @sync_note(
        "In the blocking client, ``on_rotate`` and ``on_error`` run on the client's "
        "event-loop thread, not in the thread that called ``keep``: keep them short; "
        "calling this client's blocking methods from them raises ``RuntimeError``."
    )
    @contextlib.asynccontextmanager
    async def keep(
        self,
        dynamic_secret_name: str,
        *,
        ttl: TTLInput,
        on_rotate: RotateCallback | None = None,
        on_error: ErrorCallback | None = None,
        revoke_on_exit: bool = True,
        grace_period: timedelta = timedelta(seconds=30),
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> AsyncIterator[HeldLease]:
        """Hold a lease for the duration of the block, renewing and rotating it.

        The keeper renews at about half of the lease's life, never asking past the max
        TTL, and retries failed renewals with backoff. New credentials are leased ahead of
        expiry when no renewal fits, when the server refuses one, or when renewals keep
        failing until only a third of the life is left; then ``on_rotate(new_lease)`` runs
        (sync or async) and the old lease is revoked after ``grace_period``. A lost lease
        (404) is replaced at once. Timing uses durations from the server's answers on the
        monotonic clock, so clock skew between client and server does not matter.

        ``held.credentials`` is always the current set; ``held.healthy``,
        ``held.expires_in`` and ``held.last_error`` report on the keeper, and
        ``on_error(exc)`` (sync or async) is called at each failure, which is also logged
        at WARNING. On exit, or when the client closes, the lease is revoked (unless
        ``revoke_on_exit=False``), as is any old lease still in its grace period.

        Raises:
            The errors of `create` for the first lease.
        """
        from .._keeper import LeaseKeeper  # loaded by the first keep(): most reads never do

        client = self._client
        location = await self._location(project_slug, environment, secret_path)
        wire_ttl = ttl_to_wire(ttl, argument="ttl", minimum=client.min_ttl)
        keeper = LeaseKeeper(
            self,
            require_str(dynamic_secret_name, "dynamic_secret_name"),
            ttl=wire_ttl,
            location={
                "path": location["path"],
                "environment": location["environmentSlug"],
                "project_slug": location["projectSlug"],
            },
            on_rotate=on_rotate,
            on_error=on_error,
            revoke_on_exit=revoke_on_exit,
            grace_period=grace_period,
            min_ttl=client.min_ttl,
            creator=_patient(client).dynamic_secrets.leases,
            clock=client._state.clock,
            sleep=client._state.sleep,
        )
        client._state.keepers.add(keeper)
        try:
            held = await keeper.start()
        except BaseException:
            # Cancelled or failed while leasing: a lease whose answer is still on its way
            # must be revoked all the same.
            client._state.keepers.discard(keeper)
            await keeper.stop()
            raise
        try:
            yield held
        finally:
            client._state.keepers.discard(keeper)
            await keeper.stop()


def _patient(client: AsyncInfisicalClient) -> AsyncInfisicalClient:
    """A view whose deadline leaves a lease creation time to answer (CREATE_TIMEOUT)."""
    from .._keeper import CREATE_TIMEOUT

    timeout = client._options.timeout or client._state.transport.timeout
    total = timeout.total
    if total is None or total >= CREATE_TIMEOUT:
        return client
    return client.with_options(timeout=CREATE_TIMEOUT)
