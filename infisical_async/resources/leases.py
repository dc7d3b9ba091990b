"""``client.dynamic_secrets.leases``: credentials leased from a dynamic secret."""

from __future__ import annotations

import builtins
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._keeper import HeldLease, LeaseKeeper, RotateCallback
from .._retry import RetryMode
from .._serde import structure
from .._ttl import TTLInput, ttl_to_wire
from .._validation import require_str
from ..errors import LeaseRevocationError
from ..models import Lease
from ._base import AsyncResource, segment, unwrap

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient

__all__ = ["AsyncLeases"]

_BASE = "/api/v1/dynamic-secrets/leases"


class AsyncLeases(AsyncResource):
    """Leases. Reached as ``client.dynamic_secrets.leases``.

    Every method takes ``path``, ``environment`` and ``project_slug`` of the dynamic secret
    (defaults as for ``client.dynamic_secrets``).
    """

    def __init__(self, client: AsyncInfisicalClient) -> None:
        super().__init__(client)
        self._keepers: set[LeaseKeeper] = set()

    async def _location(
        self, project_slug: str | None, environment: str | None, path: str | None
    ) -> dict[str, str]:
        from .dynamic_secrets import resolve_location

        return await resolve_location(self._client, project_slug, environment, path)

    async def create(
        self,
        dynamic_secret_name: str,
        *,
        ttl: TTLInput | None = None,
        config: dict[str, Any] | None = None,
        path: str | None = None,
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
            **await self._location(project_slug, environment, path),
            "dynamicSecretName": require_str(dynamic_secret_name, "dynamic_secret_name"),
        }
        if ttl is not None:
            body["ttl"] = ttl_to_wire(ttl, argument="ttl", minimum=self._client.min_ttl)
        if config is not None:
            body["config"] = config
        data = await self._client._request("POST", _BASE, json=body, mode=RetryMode.WRITE)
        lease = unwrap(data, "lease")
        return structure(
            {**lease, "dynamicSecret": data.get("dynamicSecret"), "data": data.get("data")}, Lease
        )

    async def get(
        self,
        lease_id: str,
        *,
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Fetch a lease (without its credentials).

        Raises:
            NotFoundError: no such lease (revoked, or expired and purged).
        """
        params = await self._location(project_slug, environment, path)
        data = await self._client._request(
            "GET",
            f"{_BASE}/{segment(require_str(lease_id, 'lease_id'))}",
            params=params,
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "lease"), Lease)

    async def list(
        self,
        dynamic_secret_name: str,
        *,
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> builtins.list[Lease]:
        """List the leases of a dynamic secret."""
        name = require_str(dynamic_secret_name, "dynamic_secret_name").lower()
        params = await self._location(project_slug, environment, path)
        data = await self._client._request(
            "GET",
            f"/api/v1/dynamic-secrets/{segment(name)}/leases",
            params=params,
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "leases"), builtins.list[Lease])

    async def renew(
        self,
        lease_id: str,
        *,
        ttl: TTLInput | None = None,
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Extend a lease: the server adds ``ttl`` to its *current expiry* (not to now).

        Raises:
            BadRequestError: the new expiry would pass the dynamic secret's max TTL.
            NotFoundError: the lease is gone (revoked or expired).
        """
        body: dict[str, Any] = dict(await self._location(project_slug, environment, path))
        if ttl is not None:
            body["ttl"] = ttl_to_wire(ttl, argument="ttl", minimum=self._client.min_ttl)
        data = await self._client._request(
            "POST",
            f"{_BASE}/{segment(require_str(lease_id, 'lease_id'))}/renew",
            json=body,
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "lease"), Lease)

    async def delete(
        self,
        lease_id: str,
        *,
        force: bool = False,
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Revoke a lease: the provider drops the credentials, then the lease is deleted.

        Args:
            force: Delete the lease even if the provider fails to revoke the credentials.

        Raises:
            LeaseRevocationError: the provider failed and ``force`` is False (the server
                keeps the lease and retries; it answers 200, which is not success).
            NotFoundError: no such lease.
        """
        body = {**await self._location(project_slug, environment, path), "isForced": force}
        data = await self._client._request(
            "DELETE",
            f"{_BASE}/{segment(require_str(lease_id, 'lease_id'))}",
            json=body,
            mode=RetryMode.IDEMPOTENT,
        )
        lease = structure(unwrap(data, "lease"), Lease)
        if lease.status and not force:
            raise LeaseRevocationError(lease)
        return lease

    async def revoke(
        self,
        lease_id: str,
        *,
        force: bool = False,
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> Lease:
        """Same as :meth:`delete`."""
        return await self.delete(
            lease_id, force=force, path=path, environment=environment, project_slug=project_slug
        )

    @contextlib.asynccontextmanager
    async def keep(
        self,
        dynamic_secret_name: str,
        *,
        ttl: TTLInput,
        on_rotate: RotateCallback | None = None,
        revoke_on_exit: bool = True,
        grace_period: timedelta = timedelta(seconds=30),
        path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> AsyncIterator[HeldLease]:
        """Hold a lease for the duration of the block, renewing and rotating it.

        The keeper renews at about two thirds of the remaining lifetime, never asking past
        the max TTL; when no renewal fits any more it leases new credentials ahead of
        expiry, calls ``on_rotate(new_lease)`` (sync or async) and revokes the old lease
        after ``grace_period``. A lost lease is replaced (and reported the same way).
        ``held.credentials`` is always the current set.

        Raises:
            The errors of :meth:`create` for the first lease.
        """
        location = await self._location(project_slug, environment, path)
        wire_ttl = ttl_to_wire(ttl, argument="ttl", minimum=self._client.min_ttl)
        keeper = LeaseKeeper(
            self,
            require_str(dynamic_secret_name, "dynamic_secret_name"),
            ttl=wire_ttl,
            location=location,
            on_rotate=on_rotate,
            revoke_on_exit=revoke_on_exit,
            grace_period=grace_period,
            min_ttl=self._client.min_ttl,
        )
        held = await keeper.start()
        self._keepers.add(keeper)
        try:
            yield held
        finally:
            self._keepers.discard(keeper)
            await keeper.stop()

    async def _stop_keepers(self) -> None:
        for keeper in list(self._keepers):
            self._keepers.discard(keeper)
            await keeper.stop()
