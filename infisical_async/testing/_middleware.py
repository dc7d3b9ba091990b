"""The wire middleware: request ids, fault injection, rate limits, error bodies, ETags."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from ._context import Context, context_of
from ._faults import Fault
from ._json import dumps
from ._ratelimit import Verdict, etag_of
from ._state import server_clock_offset, wall_time
from ._wire import ApiError, gen_req_id

__all__ = ["CONTROL_PREFIX", "error_response", "wire_middleware"]

log = logging.getLogger("infisical_async.testing")
CONTROL_PREFIX = "/__infisical_testing__"
"""Fault and inspection endpoints live under this prefix; a real server has nothing there."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_FAULT_MESSAGES = {
    429: ("RateLimitExceeded", "Rate limit exceeded. Please try again in {s} seconds"),
    500: ("InternalServerError", "Something went wrong"),
    502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeoutError", "Gateway Timeout"),
}


def error_response(
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


def _refusal(ctx: Context, verdict: Verdict | None, fault: Fault | None, req_id: str) -> Any:
    """The answer a rate limit or an injected status fault gives instead of the handler's."""
    if verdict is not None and not verdict.allowed:
        return error_response(
            ctx,
            429,
            f"Rate limit exceeded. Please try again in {verdict.reset} seconds",
            "RateLimitExceeded",
            req_id,
        )
    if fault is not None and fault.kind == "status":
        error, message = _FAULT_MESSAGES.get(fault.status, ("Error", "Injected fault"))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
        return error_response(
            ctx,
            fault.status,
            message.format(s=fault.retry_after or 60),
            error,
            req_id,
            headers=headers,
        )
    return None


async def _handle(
    ctx: Context, request: web.Request, handler: Handler, req_id: str
) -> web.StreamResponse:
    """The handler's response, with errors rendered as the real server renders them."""
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(ctx, exc.status, exc.message, exc.error, req_id, exc.details)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return _route_not_found(request)
    except web.HTTPException:
        raise
    except ModuleNotFoundError as exc:
        # An optional driver (asyncpg, redis, cryptography, botocore) is not installed.
        package = (exc.name or "a package").split(".")[0]
        return error_response(
            ctx,
            500,
            f"The embedded test server needs the {package} package for this route: "
            "pip install 'infisical-async[testing]'",
            "InternalServerError",
            req_id,
        )
    except Exception:
        log.exception("embedded server: unhandled error on %s %s", request.method, request.path)
        return error_response(ctx, 500, "Something went wrong", "InternalServerError", req_id)


@web.middleware
async def wire_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    ctx = context_of(request)
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
    response: web.StreamResponse | None = _refusal(ctx, verdict, fault, req_id)
    if response is None:
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.delay)
        response = await _handle(ctx, request, handler, req_id)
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
