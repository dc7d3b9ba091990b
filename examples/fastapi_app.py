"""A FastAPI app that loads its configuration from Infisical at startup and holds
short-lived database credentials (a dynamic-secret lease) for its whole life.

    INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=... INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=... \\
    INFISICAL_PROJECT_ID=... uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from infisical_async import AsyncInfisicalClient, Lease


def default_client() -> AsyncInfisicalClient:
    return AsyncInfisicalClient.from_env(
        project_id=os.environ.get("INFISICAL_PROJECT_ID"),
        environment=os.environ.get("APP_ENV", "dev"),
    )


def create_app(
    make_client: Callable[[], AsyncInfisicalClient] = default_client,
    *,
    dynamic_secret: str = "app-db",
    lease_ttl: str = "15m",
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with make_client() as client:
            # Configuration once at startup; the keeper renews the database lease in the
            # background and revokes it when the app stops.
            app.state.config = (await client.secrets.list()).to_dict()
            app.state.rotations = 0

            def on_rotate(_: Lease) -> None:
                app.state.rotations += 1  # a real app would rebuild its connection pool

            async with client.dynamic_secrets.leases.keep(
                dynamic_secret, ttl=lease_ttl, on_rotate=on_rotate
            ) as held:
                app.state.database = held
                yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/greeting")
    async def greeting(request: Request) -> dict[str, str]:
        return {"greeting": request.app.state.config.get("GREETING", "hello")}

    @app.get("/database-user")
    async def database_user(request: Request) -> dict[str, str]:
        # Never return the password; the credentials are read fresh on every use.
        return {"user": request.app.state.database.credentials["DB_USERNAME"]}

    return app
