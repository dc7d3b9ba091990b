"""The liveness route every server has, and the test-only control endpoint."""

from __future__ import annotations

import re

from aiohttp import web

from ._context import context_of
from ._faults import Fault
from ._middleware import CONTROL_PREFIX
from ._state import iso, now_utc
from ._wire import F, validate

__all__ = ["add_control_routes", "add_status_route"]

_FAULT_BODY = {
    "kind": F("str", default="status", choices=("status", "delay", "drop")),
    "count": F("int", default=1),
    "status": F("int", default=503),
    "retryAfter": F("str"),
    "delay": F("any", default=0.0),
    "path": F("str"),
    "method": F("str"),
}


async def status(request: web.Request) -> web.Response:
    # The real server's unauthenticated liveness route (exempt from rate limits there).
    return context_of(request).json({"date": iso(now_utc()), "message": "Ok"})


async def add_fault(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = validate(await ctx.body(request), _FAULT_BODY)
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


async def clear_faults(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.faults.clear()
    return ctx.json({"ok": True})


async def expire_tokens(request: web.Request) -> web.Response:
    ctx = context_of(request)
    return ctx.json({"expired": ctx.state.expire_all_tokens()})


async def stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    return ctx.json(
        {
            "requests": dict(ctx.faults.requests),
            "faultsInjected": dict(ctx.faults.injected),
            "activeLeases": len(ctx.state.leases),
            "rateLimited": ctx.limiter.refused,
        }
    )


async def reset_stats(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.faults.reset_counts()
    return ctx.json({"ok": True})


def add_status_route(app: web.Application) -> None:
    app.router.add_get("/api/status", status)


def add_control_routes(app: web.Application) -> None:
    r = app.router
    r.add_post(CONTROL_PREFIX + "/faults", add_fault)
    r.add_delete(CONTROL_PREFIX + "/faults", clear_faults)
    r.add_post(CONTROL_PREFIX + "/tokens/expire", expire_tokens)
    r.add_get(CONTROL_PREFIX + "/stats", stats)
    r.add_delete(CONTROL_PREFIX + "/stats", reset_stats)
