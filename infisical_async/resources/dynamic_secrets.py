"""``client.dynamic_secrets``: dynamic secrets (credentials issued on demand)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._namespace import Namespace
from .._retry import RetryMode
from .._serde import structure
from .._ttl import TTLInput, ttl_to_wire
from .._validation import pick, require_path, require_str
from ..errors import InvalidArgumentError, MissingArgumentError
from ..models import DynamicSecret
from ._base import AsyncResource, segment, unwrap
from .leases import AsyncLeases

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient
    from ..providers import DynamicSecretProvider

__all__ = ["AsyncDynamicSecrets", "resolve_location"]

_BASE = "/api/v1/dynamic-secrets"


def _check_slug(value: str, argument: str) -> str:
    value = require_str(value, argument).strip()
    if not all(c.islower() or c.isdigit() or c == "-" for c in value) or len(value) > 64:
        raise InvalidArgumentError(argument, "must be a slug: lowercase letters, digits and '-'")
    return value


async def resolve_location(
    client: AsyncInfisicalClient,
    project_slug: str | None,
    environment: str | None,
    secret_path: str | None,
) -> dict[str, str]:
    """``projectSlug``/``environmentSlug``/``path``: dynamic secrets are addressed by slug.

    Without a slug (argument or client default) the client's project id is looked up once.
    """
    slug = project_slug or client.project_slug
    if slug is None:
        if client.project_id is None:
            raise MissingArgumentError("project_slug")
        cached = client._state.project_slugs.get(client.project_id)
        if cached is None:
            cached = (await client.projects.get(client.project_id)).slug
            client._state.project_slugs[client.project_id] = cached
        slug = cached
    return {
        "projectSlug": require_str(slug, "project_slug"),
        "environmentSlug": require_str(
            pick(environment, client.environment, "environment"), "environment"
        ),
        "path": require_path(pick(secret_path, client.secret_path, "secret_path"), "secret_path"),
    }


class AsyncDynamicSecrets(AsyncResource):
    """Dynamic secrets. Reached as ``client.dynamic_secrets``; leases under ``.leases``.

    Every method takes ``secret_path`` (the folder, default the client's),
    ``environment`` and ``project_slug`` (default: the client's, or looked up from its
    ``project_id`` once).
    """

    leases = Namespace(AsyncLeases)

    async def create(
        self,
        name: str,
        *,
        provider: DynamicSecretProvider,
        default_ttl: TTLInput,
        max_ttl: TTLInput | None = None,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
        username_template: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> DynamicSecret:
        """Create a dynamic secret.

        Args:
            name: A slug (lowercase letters, digits, ``-``).
            provider: ``SqlDatabaseProvider(...)``, ``RedisProvider(...)`` or
                ``GenericProvider(type=..., inputs=...)``.
            default_ttl: Lease lifetime when a lease asks for none (``"1h"`` or a timedelta).
            max_ttl: Longest a lease may live, renewals included; ``None`` for no cap.

        Raises:
            InvalidArgumentError: bad name or TTL (checked before sending).
            BadRequestError: the name is taken, or the provider could not be reached.
        """
        name = _check_slug(name, "name")
        if not hasattr(provider, "to_wire"):
            raise InvalidArgumentError("provider", "expected a provider object with to_wire()")
        minimum = self._client.min_ttl
        body: dict[str, Any] = {
            **await resolve_location(self._client, project_slug, environment, secret_path),
            "name": name,
            "provider": provider.to_wire(),
            "defaultTTL": ttl_to_wire(default_ttl, argument="default_ttl", minimum=minimum),
        }
        if max_ttl is not None:
            body["maxTTL"] = ttl_to_wire(max_ttl, argument="max_ttl", minimum=minimum)
        if username_template is not None:
            body["usernameTemplate"] = username_template
        if metadata is not None:
            body["metadata"] = [{"key": k, "value": v} for k, v in metadata.items()]
        data = await self._client._request("POST", _BASE, json=body, mode=RetryMode.WRITE)
        return structure(unwrap(data, "dynamicSecret"), DynamicSecret)

    async def get(
        self,
        name: str,
        *,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> DynamicSecret:
        """Fetch a dynamic secret, including its (decrypted) provider ``inputs``.

        Raises:
            NotFoundError: no such dynamic secret or folder.
        """
        name = _check_slug(name.lower() if isinstance(name, str) else name, "name")
        params = await resolve_location(self._client, project_slug, environment, secret_path)
        data = await self._client._request(
            "GET", f"{_BASE}/{segment(name)}", params=params, mode=RetryMode.IDEMPOTENT
        )
        return structure(unwrap(data, "dynamicSecret"), DynamicSecret)

    async def list(
        self,
        *,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> tuple[DynamicSecret, ...]:
        """List the dynamic secrets of a folder (without their inputs)."""
        params = await resolve_location(self._client, project_slug, environment, secret_path)
        data = await self._client._request("GET", _BASE, params=params, mode=RetryMode.IDEMPOTENT)
        return structure(unwrap(data, "dynamicSecrets"), tuple[DynamicSecret, ...])

    async def update(
        self,
        name: str,
        *,
        inputs: Mapping[str, Any] | None = None,
        default_ttl: TTLInput | None = None,
        max_ttl: TTLInput | None = None,
        new_name: str | None = None,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> DynamicSecret:
        """Change a dynamic secret. ``inputs`` (camelCase wire keys) merge over the stored ones.

        Raises:
            NotFoundError: no such dynamic secret.
            BadRequestError: ``new_name`` is taken.
        """
        name = _check_slug(name, "name")
        minimum = self._client.min_ttl
        data_field: dict[str, Any] = {}
        if inputs is not None:
            data_field["inputs"] = dict(inputs)
        if default_ttl is not None:
            data_field["defaultTTL"] = ttl_to_wire(
                default_ttl, argument="default_ttl", minimum=minimum
            )
        if max_ttl is not None:
            data_field["maxTTL"] = ttl_to_wire(max_ttl, argument="max_ttl", minimum=minimum)
        if new_name is not None:
            data_field["newName"] = _check_slug(new_name, "new_name")
        body = {
            **await resolve_location(self._client, project_slug, environment, secret_path),
            "data": data_field,
        }
        data = await self._client._request(
            "PATCH", f"{_BASE}/{segment(name)}", json=body, mode=RetryMode.WRITE
        )
        return structure(unwrap(data, "dynamicSecret"), DynamicSecret)

    async def delete(
        self,
        name: str,
        *,
        force: bool = False,
        secret_path: str | None = None,
        environment: str | None = None,
        project_slug: str | None = None,
    ) -> DynamicSecret | None:
        """Delete a dynamic secret; its leases are revoked (``force`` ignores provider errors).

        Returns:
            The deleted dynamic secret; ``None`` when a retry after a lost answer found it
            already gone (the earlier attempt deleted it).

        Raises:
            NotFoundError: no such dynamic secret.
        """
        name = _check_slug(name, "name")
        body = {
            **await resolve_location(self._client, project_slug, environment, secret_path),
            "isForced": force,
        }
        data = await self._client._request(
            "DELETE", f"{_BASE}/{segment(name)}", json=body, mode=RetryMode.DELETE
        )
        return None if data is None else structure(unwrap(data, "dynamicSecret"), DynamicSecret)
