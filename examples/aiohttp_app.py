"""An aiohttp web app with one Infisical client for the app's life (cleanup_ctx)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from infisical_async import AsyncInfisicalClient, NotFoundError

CLIENT = web.AppKey("infisical", AsyncInfisicalClient)


def create_app(make_client: Callable[[], AsyncInfisicalClient]) -> web.Application:
    async def infisical(app: web.Application) -> AsyncIterator[None]:
        async with make_client() as client:
            app[CLIENT] = client
            yield

    async def feature_flag(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            secret = await request.app[CLIENT].secrets.get(f"FEATURE_{name.upper()}")
        except NotFoundError:
            return web.json_response({"feature": name, "enabled": False})
        return web.json_response({"feature": name, "enabled": secret.value == "on"})

    app = web.Application()
    app.cleanup_ctx.append(infisical)
    app.router.add_get("/features/{name}", feature_flag)
    return app
