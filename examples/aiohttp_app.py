"""An aiohttp web app with one Infisical client for the app's life and a health endpoint.

Run it (feature flags are secrets named ``FEATURE_<NAME>`` set to ``on``)::

    INFISICAL_SITE_URL=... INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=... \\
    INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=... INFISICAL_PROJECT_ID=... \\
    INFISICAL_ENVIRONMENT=dev \\
    python -m aiohttp.web -H 127.0.0.1 -P 8080 examples.aiohttp_app:init_app

then ``curl 127.0.0.1:8080/features/search`` and ``/healthz``.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from infisical_async import AsyncInfisicalClient, NotFoundError
from infisical_async.integrations.aiohttp import Infisical


def create_app(client: Callable[[], AsyncInfisicalClient] | None = None) -> web.Application:
    """``client`` makes the app's client; by default ``AsyncInfisicalClient.from_env()``."""
    infisical = Infisical(client)

    async def feature_flag(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            secret = await infisical.client(request).secrets.get(f"FEATURE_{name.upper()}")
        except NotFoundError:
            return web.json_response({"feature": name, "enabled": False})
        return web.json_response({"feature": name, "enabled": secret.value == "on"})

    app = web.Application()
    infisical.setup(app)
    app.router.add_get("/features/{name}", feature_flag)
    app.router.add_get("/healthz", infisical.healthz)
    return app


def init_app(argv: list[str] | None = None) -> web.Application:
    """The entry point ``python -m aiohttp.web`` calls."""
    return create_app()
