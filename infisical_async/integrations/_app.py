"""``InfisicalApp``: what a web app holds for its life, independent of the framework."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from .._client import AsyncInfisicalClient
from ..errors import InvalidArgumentError
from ._health import check_health
from ._pool import PoolSpec, RotatingPool, open_rotating_pool

__all__ = ["InfisicalApp", "InfisicalState"]


def _build_settings(factory: Callable[..., Any], secrets: dict[str, str]) -> Any:
    pydantic_settings = sys.modules.get("pydantic_settings")  # never imported from here
    if (
        pydantic_settings is not None
        and isinstance(factory, type)
        and issubclass(factory, pydantic_settings.BaseSettings)
    ):
        from ..pydantic_settings import build_settings

        return build_settings(factory, secrets)
    return factory(dict(secrets))


class InfisicalState:
    """The running app's client, loaded secrets and settings, pools and leases."""

    def __init__(self, client: AsyncInfisicalClient, health_timeout: float) -> None:
        self.client = client
        self.secrets: dict[str, str] = {}
        """The secrets loaded at startup (empty unless ``secrets_path`` was given)."""
        self.settings: Any = None
        """``settings(secrets)``'s result, when a ``settings`` factory was given."""
        self.pools: dict[str, RotatingPool[Any]] = {}
        self._health_timeout = health_timeout

    async def health(self) -> dict[str, Any]:
        """``check_health`` for this client and every pool's keeper."""
        return await check_health(self.client, self.pools, timeout=self._health_timeout)

    def __repr__(self) -> str:
        return f"InfisicalState(client={self.client!r}, pools={sorted(self.pools)!r})"


class InfisicalApp:
    """One Infisical client for a web app's life, with what it loads at startup.

    Args:
        client: Makes the client at startup; default ``AsyncInfisicalClient.from_env``
            (the ``INFISICAL_*`` variables: site, credentials, project, environment).
        secrets_path: Load this folder's secrets once at startup (``state.secrets``).
        recursive: Include sub-folders of ``secrets_path``.
        settings: Builds the app's configuration from the loaded secrets, kept as
            ``state.settings``: a function ``settings(secrets)``, or a pydantic-settings
            class whose ``InfisicalSettingsSource`` then reads the loaded secrets (with its
            own prefix, aliases and nesting) without a second request.
        pools: Connection pools fed by dynamic-secret leases (e.g. ``asyncpg_pool(...)``),
            rebuilt when their credentials rotate; ``state.pools[name].pool``.
        health_timeout: Seconds the health probe waits for the server.
    """

    def __init__(
        self,
        client: Callable[[], AsyncInfisicalClient] | None = None,
        *,
        secrets_path: str | None = None,
        recursive: bool = False,
        settings: Callable[..., Any] | None = None,
        pools: Mapping[str, PoolSpec[Any]] | None = None,
        health_timeout: float = 5.0,
    ) -> None:
        if health_timeout <= 0:
            raise InvalidArgumentError("health_timeout", "must be > 0")
        if settings is not None and secrets_path is None:
            raise InvalidArgumentError("settings", "needs secrets_path to load the secrets from")
        self._make_client = client or AsyncInfisicalClient.from_env
        self._secrets_path = secrets_path
        self._recursive = recursive
        self._settings = settings
        self._pools = dict(pools or {})
        self._health_timeout = health_timeout

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[InfisicalState]:
        """Open the client, load secrets and settings, open the pools; undo all on exit."""
        async with self._make_client() as client, contextlib.AsyncExitStack() as stack:
            state = InfisicalState(client, self._health_timeout)
            if self._secrets_path is not None:
                listed = await client.secrets.list(
                    secret_path=self._secrets_path, recursive=self._recursive
                )
                state.secrets = listed.to_dict()
                if self._settings is not None:
                    state.settings = _build_settings(self._settings, state.secrets)
            for name, spec in self._pools.items():
                state.pools[name] = await stack.enter_async_context(
                    open_rotating_pool(client, spec, state.secrets)
                )
            yield state
