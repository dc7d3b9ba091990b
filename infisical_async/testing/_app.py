"""The aiohttp application: the routes of the chosen server generation over one Context."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from ._context import CONTEXT_KEY, Context
from ._lease_sweeper import LeaseSweeper
from ._middleware import CONTROL_PREFIX, wire_middleware
from ._routes_auth import add_auth_routes
from ._routes_auth_methods import add_auth_method_routes
from ._routes_control import add_control_routes, add_status_route
from ._routes_dynamic import add_dynamic_secret_routes
from ._routes_events import EventOptions, add_event_routes
from ._routes_folders import add_folder_routes
from ._routes_imports_tags import add_import_and_tag_routes
from ._routes_kms import add_kms_routes
from ._routes_projects import add_project_routes
from ._routes_secrets import add_secret_routes
from ._state import server_clock_offset

__all__ = ["CONTROL_PREFIX", "SWEEPER_KEY", "build_app"]

SWEEPER_KEY = web.AppKey("sweeper", LeaseSweeper)


def build_app(ctx: Context, events: EventOptions | None = None) -> web.Application:
    app = web.Application(middlewares=[wire_middleware], client_max_size=8 * 1024 * 1024)
    app[CONTEXT_KEY] = ctx
    add_auth_routes(app)
    add_auth_method_routes(app)
    if ctx.current:
        add_secret_routes(app, "v4")
    add_secret_routes(app, "v3")
    add_import_and_tag_routes(app, ctx)
    add_folder_routes(app, ctx)
    add_project_routes(app, ctx)
    add_dynamic_secret_routes(app)
    add_kms_routes(app, ctx)
    add_event_routes(app, events or EventOptions())
    add_status_route(app)
    add_control_routes(app)

    sweeper = LeaseSweeper(ctx)
    app[SWEEPER_KEY] = sweeper

    async def lifecycle(_: web.Application) -> AsyncIterator[None]:
        server_clock_offset.set(ctx.config.clock_offset)  # the sweeper task inherits it
        sweeper.start()
        yield
        await sweeper.stop()

    app.cleanup_ctx.append(lifecycle)
    return app
