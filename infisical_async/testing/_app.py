"""The aiohttp application: routes, error rendering, request ids, faults, control endpoint."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from ._context import CONTEXT_KEY, Context
from ._faults import Fault
from ._json import dumps
from ._lease_sweeper import LeaseSweeper
from ._ratelimit import Verdict, etag_of
from ._routes_auth import add_auth_routes
from ._routes_auth_methods import add_auth_method_routes
from ._routes_dynamic import add_dynamic_secret_routes
from ._routes_folders import add_folder_routes
from ._routes_imports_tags import add_import_and_tag_routes
from ._routes_kms import add_kms_routes
from ._routes_projects import add_project_routes
from ._routes_secrets import add_secret_routes
from ._state import iso, now_utc, server_clock_offset, wall_time
from ._wire import ApiError, F, gen_req_id, validate

__all__ = ["CONTROL_PREFIX", "build_app"]

log = logging.getLogger("infisical_async.testing")
CONTROL_PREFIX = "/__infisical_testing__"
"""Fault and inspection endpoints live under this prefix; a real server has nothing there."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SWEEPER_KEY = web.AppKey("sweeper", LeaseSweeper)

_FAULT_MESSAGES = {
    429: ("RateLimitExceeded", "Rate limit exceeded. Please try again in {s} seconds"),
    500: ("InternalServerError", "Something went wrong"),
    502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeoutError", "Gateway Timeout"),
}


def _error_response(
    ctx: Context,
    status: int,
    message: Any,
    error: str,
    req_id: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    if error == "ValidationFailure" and ctx.legacy:
        status = 401  # the 2024 server's validation errors came back as 401
    body: dict[str, Any] = {}
    if not ctx.legacy:
        body["reqId"] = req_id
    body.update({"statusCode": status, "message": message, "error": error})
    if details is not None:
        body["details"] = details
    return web.Response(
        status=status, body=dumps(body).encode(), content_type="application/json", headers=headers
    )


def _not_modified_headers(response: web.Response) -> dict[str, str]:
    """A 304 keeps the answer's headers but not those describing its body."""
    dropped = {"content-type", "content-length", "content-encoding"}
    return {k: v for k, v in response.headers.items() if k.lower() not in dropped}


def _route_not_found(request: web.Request) -> web.Response:
    # Fastify's own 404: no reqId, and the query string is part of the message.
    body = {
        "message": f"Route {request.method}:{request.path_qs} not found",
        "error": "Not Found",
        "statusCode": 404,
    }
    return web.Response(status=404, body=dumps(body).encode(), content_type="application/json")


async def _drop_mid_body(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """Send the headers and half the body, then cut the connection."""
    body = response.body if isinstance(response, web.Response) else b""
    payload = body if isinstance(body, bytes) else b"{}"
    stream = web.StreamResponse(
        status=response.status, headers={"Content-Type": "application/json"}
    )
    stream.content_length = len(payload)
    await stream.prepare(request)
    await stream.write(payload[: max(1, len(payload) // 2)])
    if request.transport is not None:
        request.transport.abort()
    return stream


def build_app(ctx: Context) -> web.Application:
    @web.middleware
    async def wire(request: web.Request, handler: Handler) -> web.StreamResponse:
        server_clock_offset.set(ctx.config.clock_offset)
        req_id = gen_req_id()
        path = request.path
        control = path.startswith(CONTROL_PREFIX)
        fault: Fault | None = None
        verdict: Verdict | None = None
        if not control:
            resource = request.match_info.route.resource
            pattern = resource.canonical if resource else "unmatched"
            ctx.faults.count(f"{request.method} {pattern}")
            fault = ctx.faults.take(request.method, path)
            verdict = ctx.limiter.hit(request.method, pattern, path, request.remote or "")
        try:
            if verdict is not None and not verdict.allowed:
                response: web.StreamResponse = _error_response(
                    ctx,
                    429,
                    f"Rate limit exceeded. Please try again in {verdict.reset} seconds",
                    "RateLimitExceeded",
                    req_id,
                )
            elif fault is not None and fault.kind == "status":
                error, message = _FAULT_MESSAGES.get(fault.status, ("Error", "Injected fault"))
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                response = _error_response(
                    ctx,
                    fault.status,
                    message.format(s=fault.retry_after or 60),
                    error,
                    req_id,
                    headers=headers,
                )
            else:
                if fault is not None and fault.kind == "delay":
                    await asyncio.sleep(fault.delay)
                response = await handler(request)
        except ApiError as exc:
            response = _error_response(ctx, exc.status, exc.message, exc.error, req_id, exc.details)
        except web.HTTPNotFound:
            response = _route_not_found(request)
        except web.HTTPMethodNotAllowed:
            response = _route_not_found(request)
        except web.HTTPException:
            raise
        except ModuleNotFoundError as exc:
            # An optional driver (asyncpg, redis, cryptography, botocore) is not installed.
            package = (exc.name or "a package").split(".")[0]
            response = _error_response(
                ctx,
                500,
                f"The embedded test server needs the {package} package for this route: "
                "pip install 'infisical-async[testing]'",
                "InternalServerError",
                req_id,
            )
        except Exception:
            log.exception("embedded server: unhandled error on %s %s", request.method, path)
            response = _error_response(
                ctx, 500, "Something went wrong", "InternalServerError", req_id
            )
        if not ctx.legacy:  # recorded: no request id anywhere from the 2024 server
            response.headers["X-Request-Id"] = req_id
        response.headers["Date"] = formatdate(wall_time(), usegmt=True)
        if verdict is not None:
            response.headers.update(verdict.headers())
        if not control and isinstance(response, web.Response) and isinstance(response.body, bytes):
            tag = etag_of(response.body)
            if request.headers.get("If-None-Match") == tag:  # exact compare, as upstream
                response = web.Response(status=304, headers=_not_modified_headers(response))
                ctx.faults.count("304 Not Modified")
            response.headers["etag"] = tag
        if fault is not None and fault.kind == "drop":
            return await _drop_mid_body(request, response)
        return response

    app = web.Application(middlewares=[wire], client_max_size=8 * 1024 * 1024)
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
    _add_status_route(app, ctx)
    _add_control_routes(app, ctx)

    sweeper = LeaseSweeper(ctx)
    app[SWEEPER_KEY] = sweeper

    async def lifecycle(_: web.Application) -> Any:
        server_clock_offset.set(ctx.config.clock_offset)  # the sweeper task inherits it
        sweeper.start()
        yield
        await sweeper.stop()

    app.cleanup_ctx.append(lifecycle)
    return app


def _add_status_route(app: web.Application, ctx: Context) -> None:
    # The real server's unauthenticated liveness route (exempt from rate limits there).
    async def status(_: web.Request) -> web.Response:
        return ctx.json({"date": iso(now_utc()), "message": "Ok"})

    app.router.add_get("/api/status", status)


def _add_control_routes(app: web.Application, ctx: Context) -> None:
    async def add_fault(request: web.Request) -> web.Response:
        body = validate(
            await ctx.body(request),
            {
                "kind": F("str", default="status", choices=("status", "delay", "drop")),
                "count": F("int", default=1),
                "status": F("int", default=503),
                "retryAfter": F("str"),
                "delay": F("any", default=0.0),
                "path": F("str"),
                "method": F("str"),
            },
        )
        ctx.faults.add(
            Fault(
                kind=body["kind"],
                remaining=int(body["count"]),
                status=int(body["status"]),
                retry_after=body.get("retryAfter"),
                delay=float(body["delay"]),
                path=re.compile(body["path"]) if body.get("path") else None,
                method=body.get("method"),
            )
        )
        return ctx.json({"ok": True})

    async def clear_faults(_: web.Request) -> web.Response:
        ctx.faults.clear()
        return ctx.json({"ok": True})

    async def expire_tokens(_: web.Request) -> web.Response:
        return ctx.json({"expired": ctx.state.expire_all_tokens()})

    async def stats(_: web.Request) -> web.Response:
        return ctx.json(
            {
                "requests": dict(ctx.faults.requests),
                "faultsInjected": dict(ctx.faults.injected),
                "activeLeases": len(ctx.state.leases),
                "rateLimited": ctx.limiter.refused,
            }
        )

    async def reset_stats(_: web.Request) -> web.Response:
        ctx.faults.reset_counts()
        return ctx.json({"ok": True})

    r = app.router
    r.add_post(CONTROL_PREFIX + "/faults", add_fault)
    r.add_delete(CONTROL_PREFIX + "/faults", clear_faults)
    r.add_post(CONTROL_PREFIX + "/tokens/expire", expire_tokens)
    r.add_get(CONTROL_PREFIX + "/stats", stats)
    r.add_delete(CONTROL_PREFIX + "/stats", reset_stats)
