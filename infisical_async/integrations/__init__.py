"""Glue for web frameworks: one client per app, settings, pools fed by leases, health.

* ``infisical_async.integrations.fastapi``: FastAPI/Starlette lifespan and ``Depends``
  providers (needs FastAPI installed; the core package never imports it).
* ``infisical_async.integrations.aiohttp``: an ``aiohttp.web`` cleanup context and handlers.
* ``RotatingPool`` / ``asyncpg_pool``: a connection pool rebuilt whenever a lease keeper
  rotates its database credentials.
* ``check_health``: ``client.ping()`` plus every keeper's health, as a ``/healthz`` dict.
"""

from ._app import InfisicalApp, InfisicalState
from ._health import check_health
from ._pool import PoolSpec, RotatingPool, asyncpg_pool

__all__ = [
    "InfisicalApp",
    "InfisicalState",
    "PoolSpec",
    "RotatingPool",
    "asyncpg_pool",
    "check_health",
]
