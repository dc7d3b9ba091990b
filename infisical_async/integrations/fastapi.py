"""FastAPI / Starlette: a lifespan, ``Depends`` providers and a ``/healthz`` endpoint.

>>> infisical = Infisical(
...     secrets_path="/app",
...     pools={"db": asyncpg_pool("app-db", ttl="15m", dsn_secret="DATABASE_URL")},
... )
>>> app = FastAPI(lifespan=infisical.lifespan)
>>> app.add_api_route("/healthz", infisical.healthz)
>>>
>>> @app.get("/users")
... async def users(db=Depends(infisical.pool("db")), secrets=Depends(infisical.secrets)):
...     async with db.acquire() as conn: ...

The client is opened once at startup (``AsyncInfisicalClient.from_env()`` unless
``client=`` says otherwise) and closed, with every lease revoked, at shutdown. Needs FastAPI
(or Starlette) installed; ``infisical_async`` itself never imports it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .._client import AsyncInfisicalClient
from ._app import InfisicalApp, InfisicalState
from ._health import check_health
from ._pool import PoolSpec, RotatingPool, asyncpg_pool

__all__ = [
    "Infisical",
    "InfisicalState",
    "PoolSpec",
    "RotatingPool",
    "asyncpg_pool",
    "check_health",
]


class Infisical(InfisicalApp):
    """``InfisicalApp`` for FastAPI/Starlette; its state lives on ``app.state.<state_name>``.

    Args:
        client: Makes the client at startup; default ``AsyncInfisicalClient.from_env``.
        secrets_path: Load this folder's secrets once at startup.
        recursive: Include sub-folders of ``secrets_path``.
        settings: ``settings(secrets)``, or a pydantic-settings class using
            ``InfisicalSettingsSource``: your configuration object, built at startup.
        pools: Connection pools fed by dynamic-secret leases (``asyncpg_pool(...)``).
        health_timeout: Seconds the health probe waits for the server.
        reload_on_change: Rebuild ``secrets`` and ``settings`` in place when the secrets of
            ``secrets_path`` change (change events, or polling without them).
        state_name: Attribute of ``app.state`` holding the running state.
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
        state_name: str = "infisical",
    ) -> None:
        super().__init__(
            client,
            secrets_path=secrets_path,
            recursive=recursive,
            settings=settings,
            pools=pools,
            health_timeout=health_timeout,
            reload_on_change=reload_on_change,
        )
        self.state_name = state_name

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """``FastAPI(lifespan=infisical.lifespan)``, or ``async with`` it in your own."""
        async with self.running() as state:
            setattr(app.state, self.state_name, state)
            try:
                yield
            finally:
                delattr(app.state, self.state_name)

    def state(self, request: Request) -> InfisicalState:
        """Dependency: the running state (client, secrets, settings, pools, health)."""
        try:
            state: InfisicalState = getattr(request.app.state, self.state_name)
        except AttributeError:
            raise RuntimeError(
                "Infisical is not running: pass lifespan=infisical.lifespan to the app"
            ) from None
        return state

    def client(self, request: Request) -> AsyncInfisicalClient:
        """Dependency: the app's ``AsyncInfisicalClient``."""
        return self.state(request).client

    def secrets(self, request: Request) -> dict[str, str]:
        """Dependency: the secrets loaded at startup."""
        return self.state(request).secrets

    def settings(self, request: Request) -> Any:
        """Dependency: the settings object built at startup."""
        return self.state(request).settings

    def pool(self, name: str) -> Callable[[Request], Any]:
        """Dependency factory: the *current* pool named ``name`` (it changes on rotation)."""

        def current_pool(request: Request) -> Any:
            return self.state(request).pools[name].pool

        return current_pool

    async def health(self, request: Request) -> dict[str, Any]:
        """Dependency: the ``check_health`` dict (server ping plus every keeper)."""
        return await self.state(request).health()

    async def healthz(self, request: Request) -> JSONResponse:
        """A ready-made endpoint: the health dict, with 503 when anything failed."""
        report = await self.health(request)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)
