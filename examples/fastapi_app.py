"""A FastAPI app with its configuration from Infisical, a PostgreSQL pool that logs in with
short-lived credentials (a dynamic-secret lease, renewed and rotated in the background; the
pool is rebuilt on rotation), and a health endpoint.

Run it (the environment's root folder holds GREETING and DATABASE_URL, a
``postgresql://host:port/database`` address without user or password; the dynamic secret
``app-db`` issues the database users)::

    INFISICAL_SITE_URL=... INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=... \\
    INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=... INFISICAL_PROJECT_ID=... \\
    INFISICAL_ENVIRONMENT=dev uvicorn examples.fastapi_app:app

then ``curl localhost:8000/greeting``, ``/database-user`` and ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI

from infisical_async import AsyncInfisicalClient
from infisical_async.integrations.fastapi import Infisical, asyncpg_pool


def create_app(client: Callable[[], AsyncInfisicalClient] | None = None) -> FastAPI:
    """``client`` makes the app's client; by default ``AsyncInfisicalClient.from_env()``."""
    infisical = Infisical(
        client,
        secrets_path="/",
        pools={
            "db": asyncpg_pool(
                "app-db", ttl="15m", dsn_secret="DATABASE_URL", min_size=1, max_size=4
            )
        },
    )
    app = FastAPI(lifespan=infisical.lifespan)
    app.add_api_route("/healthz", infisical.healthz)

    @app.get("/greeting")
    async def greeting(secrets: dict[str, str] = Depends(infisical.secrets)) -> dict[str, str]:
        return {"greeting": secrets.get("GREETING", "hello")}

    @app.get("/database-user")
    async def database_user(db: Any = Depends(infisical.pool("db"))) -> dict[str, str]:
        # The pool logs in as the lease's current user; never return the password.
        return {"user": await db.fetchval("SELECT current_user")}

    return app


app = create_app()
