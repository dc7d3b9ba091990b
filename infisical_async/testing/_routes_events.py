"""``POST /api/v1/events/subscribe/project-events``: project change events over SSE.

Answers as the current ("Gen B") server does (``events-etag-ratelimit.md`` §1): the auth,
validation, permission, licence and connection-cap refusals are ordinary JSON errors sent
before the stream starts; a subscription then gets ``event: ping`` frames every ping
interval, one frame per (event, environment, folder) batch of writes, nothing from before
it connected, and is cut without a terminating chunk when its maximum duration runs out.
Servers older than the feature (``compat`` "2025" and "2024") have no such route at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from ._context import CONTEXT_KEY, context_of
from ._events import EVENT_NAMES, EventBus, Registration, Subscription
from ._json import dumps
from ._wire import ApiError, F, validate, validation_error

__all__ = ["EVENTS_KEY", "EventOptions", "EventStreams", "add_event_routes"]

EventsMode = Literal["on", "off"]
ROUTE = "/api/v1/events/subscribe/project-events"
PLAN_MESSAGE = (
    "Event subscriptions are not available on your current plan. "
    "Please upgrade to access this feature."
)
_ACTIONS = {
    "secret:create": "subscribe-on-created",
    "secret:update": "subscribe-on-updated",
    "secret:delete": "subscribe-on-deleted",
    "secret:import-mutation": "subscribe-on-import-mutations",
}
_SSE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Type": "text/event-stream",
    "Connection": "keep-alive",
    "X-Accel-Buffering": "no",
}


@dataclass
class EventOptions:
    """How the server's change events behave (every duration shrinkable for tests)."""

    mode: EventsMode = "on"
    """``"off"``: the organisation's plan lacks event subscriptions (400), the self-hosted
    default upstream."""
    publish_delay: float = 0.05
    """Seconds from a write to its frame (upstream: a queue job, seconds)."""
    ping_interval: float = 15.0
    max_duration: float = 3600.0
    """A stream is cut (no terminating chunk) after this long."""
    max_connections: int = 100
    """Live subscriptions per project; one more gets 429."""
    denied: bool = False
    """The identity lacks the secret-events permissions (403 on subscribe)."""


@dataclass
class EventStreams:
    options: EventOptions
    bus: EventBus
    transports: set[asyncio.Transport] = field(default_factory=set)

    def cut_all(self) -> int:
        """Drop every stream's connection abruptly (as a crash or a proxy would)."""
        count = 0
        for transport in list(self.transports):
            transport.abort()
            count += 1
        return count


EVENTS_KEY = web.AppKey("events", EventStreams)


def _registrations(items: list[object]) -> tuple[Registration, ...]:
    if not 1 <= len(items) <= 10:
        raise validation_error(
            [
                {
                    "code": "too_small" if not items else "too_big",
                    "path": ["register"],
                    "message": "Array must contain between 1 and 10 element(s)",
                }
            ]
        )
    out = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise validation_error(
                [
                    {
                        "code": "invalid_type",
                        "path": ["register", index],
                        "message": "Expected object",
                    }
                ]
            )
        fields = validate(
            item,
            {"event": F("str", required=True, choices=EVENT_NAMES), "conditions": F("dict")},
        )
        conditions = fields.get("conditions")
        env: str | None = None
        path: str | None = None
        if conditions is not None:
            cond = validate(
                conditions,
                {"environmentSlug": F("str", required=True), "secretPath": F("str", default="/")},
            )
            env, path = cond["environmentSlug"], cond["secretPath"]
        out.append(Registration(fields["event"], env, path))
    return tuple(out)


async def subscribe(request: web.Request) -> web.StreamResponse:
    ctx = context_of(request)
    events = request.app[EVENTS_KEY]
    options = events.options
    ctx.authenticate(request)
    body = validate(
        await ctx.body(request),
        {"projectId": F("str", required=True), "register": F("list", required=True)},
    )
    registrations = _registrations(body["register"])
    ctx.check_project_id(body["projectId"])
    # Upstream order: permission, then licence, then the connection cap.
    if options.denied:
        action = _ACTIONS[registrations[0].event]
        raise ApiError(
            403,
            f"You are not allowed to {action} on secret-events",
            "PermissionDenied",
            details=[{"action": action, "subject": "secret-events"}],
        )
    if options.mode == "off":
        raise ApiError(400, PLAN_MESSAGE, "BadRequest")
    if events.bus.count(body["projectId"]) >= options.max_connections:
        raise ApiError(
            429,
            "You have reached your maximum concurrent event subscriptions for this "
            f"project. Your project supports {options.max_connections} concurrent "
            "event subscriptions.",
            "RateLimitExceeded",
        )
    sub = Subscription(body["projectId"], registrations)
    response = web.StreamResponse(status=200, headers=_SSE_HEADERS)
    response.enable_chunked_encoding()
    events.bus.subscriptions.add(sub)
    transport = request.transport
    if transport is not None:
        events.transports.add(transport)
    try:
        await response.prepare(request)
        await _pump(request, response, sub, options)
    except (ConnectionResetError, asyncio.CancelledError):
        pass  # the client went away (or the server is stopping): the slot is freed
    finally:
        events.bus.subscriptions.discard(sub)
        if transport is not None:
            events.transports.discard(transport)
    return response


def add_event_routes(app: web.Application, options: EventOptions) -> None:
    ctx = app[CONTEXT_KEY]
    events = EventStreams(options, EventBus(ctx.state, publish_delay=options.publish_delay))
    app[EVENTS_KEY] = events

    async def on_shutdown(_: web.Application) -> None:
        events.bus.close()  # streams end cleanly, as a server shutdown ends them

    app.on_shutdown.append(on_shutdown)
    if ctx.current:  # older servers answer the framework's route-404
        app.router.add_post(ROUTE, subscribe)


async def _pump(
    request: web.Request, response: web.StreamResponse, sub: Subscription, options: EventOptions
) -> None:
    loop = asyncio.get_running_loop()
    cut_at = loop.time() + options.max_duration
    next_ping = loop.time() + options.ping_interval
    while True:
        now = loop.time()
        if now >= cut_at:
            # AbortSignal.timeout destroys the response: no terminating chunk.
            if request.transport is not None:
                request.transport.abort()
            return
        wait = min(next_ping, cut_at) - now
        try:
            frame = await asyncio.wait_for(sub.queue.get(), timeout=max(wait, 0))
        except asyncio.TimeoutError:
            if loop.time() >= next_ping:
                await response.write(b"event: ping\n\n")
                next_ping = loop.time() + options.ping_interval
            continue
        if frame is None:
            if sub.revoked:
                message = {"message": "Permission denied or refresh failed"}
                await response.write(f"event: error\ndata: {dumps(message)}\n\n".encode())
            with contextlib.suppress(ConnectionResetError):
                await response.write_eof()
            return
        await response.write(frame.encode())
