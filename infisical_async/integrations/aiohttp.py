"""aiohttp.web: a cleanup context, request helpers and a ``/healthz`` handler.

>>> infisical = Infisical(secrets_path="/app")
>>> app = web.Application()
>>> infisical.setup(app)                 # one client for the app's life
>>> app.router.add_get("/healthz", infisical.healthz)
>>>
>>> async def handler(request):
...     client = infisical.client(request)
...     greeting = infisical.secrets(request).get("GREETING")

The client is opened at startup (``AsyncInfisicalClient.from_env()`` unless ``client=``
says otherwise) and closed, with every lease revoked, at cleanup.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

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
    """``InfisicalApp`` for ``aiohttp.web``; its state lives under ``infisical.key``.

    Takes the arguments of ``InfisicalApp``: ``client``, ``secrets_path``, ``recursive``,
    ``settings``, ``pools``, ``health_timeout``, ``reload_on_change``.
    """

    @functools.cached_property
    def key(self) -> web.AppKey[InfisicalState]:
        """The ``AppKey`` of the running state: ``app[infisical.key]``."""
        return web.AppKey("infisical", InfisicalState)

    def setup(self, app: web.Application) -> None:
        """Register the cleanup context on ``app``."""
        app.cleanup_ctx.append(self.cleanup_ctx)

    async def cleanup_ctx(self, app: web.Application) -> AsyncIterator[None]:
        """``app.cleanup_ctx.append(infisical.cleanup_ctx)``: what ``setup`` does."""
        async with self.running() as state:
            app[self.key] = state  # a started app's state may not be deleted: it stays
            yield

    def state(self, request: web.Request) -> InfisicalState:
        """The running state (client, secrets, settings, pools, health)."""
        try:
            return request.app[self.key]
        except KeyError:
            raise RuntimeError("Infisical is not running: call infisical.setup(app)") from None

    def client(self, request: web.Request) -> AsyncInfisicalClient:
        return self.state(request).client

    def secrets(self, request: web.Request) -> dict[str, str]:
        return self.state(request).secrets

    def settings(self, request: web.Request) -> Any:
        return self.state(request).settings

    def pool(self, request: web.Request, name: str) -> Any:
        """The *current* pool named ``name`` (it changes on rotation)."""
        return self.state(request).pools[name].pool

    async def healthz(self, request: web.Request) -> web.Response:
        """A ready-made handler: the health dict, with 503 when anything failed."""
        report = await self.state(request).health()
        return web.json_response(report, status=200 if report["status"] == "ok" else 503)
