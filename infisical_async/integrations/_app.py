"""``InfisicalApp``: what a web app holds for its life, independent of the framework."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from .._client import AsyncInfisicalClient
from ..errors import InfisicalError, InvalidArgumentError
from ._health import check_health
from ._pool import PoolSpec, RotatingPool, open_rotating_pool

__all__ = ["InfisicalApp", "InfisicalState"]

log = logging.getLogger("infisical_async.integrations")


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
        self.reloads = 0
        """How many times ``reload_on_change`` replaced the secrets and settings."""
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
        reload_on_change: Follow ``secrets_path`` with ``secrets.watch()`` (change events,
            or polling on servers without them) and, when its secrets change, rebuild
            ``state.secrets`` and ``state.settings`` in place (a settings build that fails
            keeps the previous ones, with an error log).
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
        reload_on_change: bool = False,
    ) -> None:
        if health_timeout <= 0:
            raise InvalidArgumentError("health_timeout", "must be > 0")
        if reload_on_change and secrets_path is None:
            raise InvalidArgumentError("reload_on_change", "needs secrets_path to follow")
        if settings is not None and secrets_path is None:
            raise InvalidArgumentError("settings", "needs secrets_path to load the secrets from")
        self._make_client = client or AsyncInfisicalClient.from_env
        self._secrets_path = secrets_path
        self._recursive = recursive
        self._settings = settings
        self._pools = dict(pools or {})
        self._health_timeout = health_timeout
        self._reload_on_change = reload_on_change

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
            if self._reload_on_change:
                follower = asyncio.create_task(self._follow(client, state))
                stack.push_async_callback(_cancel, follower)
            yield state

    async def _follow(self, client: AsyncInfisicalClient, state: InfisicalState) -> None:
        """Rebuild the loaded secrets and settings whenever the watch says they may have
        changed (a change, or a resync after a reconnect)."""
        assert self._secrets_path is not None
        try:
            async for _ in client.secrets.watch(
                secret_path=self._secrets_path, recursive=self._recursive
            ):
                await self._reload(client, state)
        except InfisicalError as exc:
            log.error("no longer following secret changes: %s", type(exc).__name__)

    async def _reload(self, client: AsyncInfisicalClient, state: InfisicalState) -> None:
        assert self._secrets_path is not None
        try:
            listed = await client.secrets.list(
                secret_path=self._secrets_path, recursive=self._recursive
            )
        except InfisicalError as exc:
            log.warning("could not reload the secrets (%s); keeping them", type(exc).__name__)
            return
        secrets = listed.to_dict()
        if secrets == state.secrets:
            return
        settings = state.settings
        if self._settings is not None:
            try:
                settings = _build_settings(self._settings, secrets)
            except Exception as exc:  # the user's factory: keep serving the old settings
                log.error(
                    "the changed secrets do not build settings (%s); keeping the previous",
                    type(exc).__name__,
                )
                return
        state.secrets, state.settings = secrets, settings
        state.reloads += 1
        log.info("reloaded %d secrets from %s", len(secrets), self._secrets_path)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
