"""Leases of dynamic secrets: create, read, renew, revoke (the provider really acts)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from ._context import context_of
from ._dynamic_model import (
    LOCATION,
    dynamic_secret_json,
    dynamic_secret_of,
    find_dynamic_secret,
    lease_json,
    lease_or_404,
    locate,
    parse_ttl,
    ttl_field,
)
from ._providers import ProviderError, get_provider
from ._state import LeaseRecord, new_id, now_utc
from ._wire import ApiError, F, validate

__all__ = ["add_lease_routes"]


async def create_lease(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(
        await ctx.body(request),
        {
            **LOCATION,
            "dynamicSecretName": F("str", required=True, min_len=1),
            "ttl": ttl_field(ctx),
            "config": F("any"),
        },
    )
    env, path = locate(ctx, body)
    record = find_dynamic_secret(ctx, env, path, body["dynamicSecretName"].lower())
    ttl_ms = parse_ttl(body.get("ttl") or record.default_ttl)
    now = now_utc()
    expire_at = now + timedelta(milliseconds=ttl_ms)
    if record.max_ttl and expire_at > now + timedelta(milliseconds=parse_ttl(record.max_ttl)):
        raise ApiError(400, "TTL cannot be larger than max TTL", "BadRequest")
    provider = get_provider(record.type, record.inputs)
    try:
        entity, data = await provider.create(record.inputs, expire_at)
    except ProviderError as exc:
        raise ApiError(400, str(exc)[:500], "BadRequest") from None
    lease = LeaseRecord(
        id=new_id(),
        dynamic_secret_id=record.id,
        external_entity_id=entity,
        expire_at=expire_at,
        config=body.get("config"),
        created_at=now,
        updated_at=now,
    )
    state.leases[lease.id] = lease
    return ctx.json(
        {
            "lease": lease_json(ctx, lease),
            "dynamicSecret": dynamic_secret_json(ctx, record),
            "data": data,
        }
    )


async def get_lease(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    q = validate(request.query, LOCATION, query=True)
    env, path = locate(ctx, q)
    lease = lease_or_404(ctx, request.match_info["leaseId"])
    record = dynamic_secret_of(ctx, lease, env, path)
    return ctx.json(
        {"lease": {**lease_json(ctx, lease), "dynamicSecret": dynamic_secret_json(ctx, record)}}
    )


async def list_leases(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    q = validate(request.query, LOCATION, query=True)
    env, path = locate(ctx, q)
    record = find_dynamic_secret(ctx, env, path, request.match_info["name"].lower())
    found = [
        lease_json(ctx, lease)
        for lease in state.leases.values()
        if lease.dynamic_secret_id == record.id
    ]
    return ctx.json({"leases": found})


async def renew_lease(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    body = validate(await ctx.body(request), {**LOCATION, "ttl": ttl_field(ctx)})
    env, path = locate(ctx, body)
    lease = lease_or_404(ctx, request.match_info["leaseId"])
    record = dynamic_secret_of(ctx, lease, env, path)
    ttl_ms = parse_ttl(body.get("ttl") or record.default_ttl)
    new_expiry = lease.expire_at + timedelta(milliseconds=ttl_ms)
    if record.max_ttl and new_expiry > lease.created_at + timedelta(
        milliseconds=parse_ttl(record.max_ttl)
    ):
        if ctx.legacy:
            raise ApiError(400, "TTL cannot be larger than max ttl", "BadRequest")
        raise ApiError(
            400,
            "The requested renewal would exceed the maximum allowed lease "
            "duration. Please choose a shorter TTL",
            "BadRequest",
        )
    if ctx.legacy and record.type == "sql-database" and not record.inputs.get("renewStatement"):
        # The 2024 server ran an empty renew statement and failed.
        raise ApiError(500, "Something went wrong", "InternalServerError")
    try:
        await get_provider(record.type, record.inputs).renew(
            record.inputs, lease.external_entity_id, new_expiry
        )
    except ProviderError as exc:
        raise ApiError(400, str(exc)[:500], "BadRequest") from None
    lease.expire_at = new_expiry
    lease.updated_at = now_utc()
    return ctx.json({"lease": lease_json(ctx, lease)})


async def revoke_lease(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), {**LOCATION, "isForced": F("bool", default=False)})
    env, path = locate(ctx, body)
    lease = lease_or_404(ctx, request.match_info["leaseId"])
    record = dynamic_secret_of(ctx, lease, env, path)
    try:
        await get_provider(record.type, record.inputs).revoke(
            record.inputs, lease.external_entity_id
        )
    except (ProviderError, ApiError) as exc:
        if not body["isForced"]:
            lease.status, lease.status_details = "Failed to delete", str(exc)[:255]
            lease.updated_at = now_utc()
            return ctx.json({"lease": lease_json(ctx, lease)})
    del state.leases[lease.id]
    return ctx.json({"lease": lease_json(ctx, lease)})


def add_lease_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/dynamic-secrets/leases", create_lease)
    app.router.add_get("/api/v1/dynamic-secrets/leases/{leaseId}", get_lease)
    app.router.add_delete("/api/v1/dynamic-secrets/leases/{leaseId}", revoke_lease)
    app.router.add_post("/api/v1/dynamic-secrets/leases/{leaseId}/renew", renew_lease)
    app.router.add_get("/api/v1/dynamic-secrets/{name}/leases", list_leases)
