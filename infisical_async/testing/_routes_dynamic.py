"""Dynamic secrets: create (checking the provider really answers), read, update, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import context_of
from ._dynamic_model import (
    LOCATION,
    dynamic_secret_json,
    find_dynamic_secret,
    locate,
    parse_ttl,
    slug_problem,
    ttl_field,
)
from ._providers import ProviderError, get_provider, provider_issues
from ._routes_leases import add_lease_routes
from ._state import DynamicSecretRecord, new_id, now_utc
from ._wire import ApiError, F, validate, validation_error

__all__ = ["add_dynamic_secret_routes"]


_PROVIDER = {"type": F("str", required=True), "inputs": F("dict", required=True)}


def _validated_provider(raw: dict[str, Any]) -> dict[str, Any]:
    """The provider's type and inputs, with every missing input named as zod names it."""
    provider = validate(raw, _PROVIDER)
    missing = provider_issues(provider["type"], provider["inputs"])
    if missing:
        raise validation_error(
            [
                {
                    "code": "invalid_type",
                    "expected": "string",
                    "received": "undefined",
                    "path": ["provider", "inputs", name],
                    "message": "Required",
                }
                for name in missing
            ]
        )
    return provider


async def _checked_inputs(provider: dict[str, Any]) -> dict[str, Any]:
    """The inputs as stored (host normalized), after the provider really answered."""
    inputs = dict(provider["inputs"])
    if isinstance(inputs.get("host"), str):
        inputs["host"] = inputs["host"].strip().lower()
    if provider["type"] in ("sql-database", "redis"):
        try:
            await get_provider(provider["type"], inputs).check(inputs)
        except ProviderError as exc:
            raise ApiError(400, str(exc)[:500], "BadRequest") from None
    return inputs


async def create_ds(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(
        await ctx.body(request),
        {
            **LOCATION,
            "provider": F("dict", required=True),
            "defaultTTL": ttl_field(ctx, required=True),
            "maxTTL": ttl_field(ctx, nullable=True),
            "name": F("str", required=True, check=slug_problem),
            "metadata": F("list"),
            "usernameTemplate": F("str", nullable=True, max_len=255),
        },
    )
    provider = _validated_provider(body["provider"])
    env, path = locate(ctx, body)
    parse_ttl(body["defaultTTL"])
    if body.get("maxTTL"):
        parse_ttl(body["maxTTL"])
    if (env, path, body["name"]) in state.dynamic_secrets:
        raise ApiError(400, "Provided dynamic secret already exist under the folder", "BadRequest")
    inputs = await _checked_inputs(provider)
    folder = state.folder(env, path)
    assert folder is not None  # locate() checked it
    record = DynamicSecretRecord(
        id=new_id(),
        name=body["name"],
        type=provider["type"],
        inputs=inputs,
        default_ttl=body["defaultTTL"],
        max_ttl=body.get("maxTTL"),
        env=env,
        path=path,
        folder_id=folder.id,
        username_template=body.get("usernameTemplate"),
        metadata=body.get("metadata") or [],
    )
    state.dynamic_secrets[(env, path, record.name)] = record
    return ctx.json({"dynamicSecret": dynamic_secret_json(ctx, record, inputs=not ctx.legacy)})


async def get_ds(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    q = validate(request.query, LOCATION, query=True)
    env, path = locate(ctx, q)
    record = find_dynamic_secret(ctx, env, path, request.match_info["name"].lower())
    return ctx.json({"dynamicSecret": dynamic_secret_json(ctx, record, inputs=True)})


async def list_ds(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    q = validate(request.query, LOCATION, query=True)
    env, path = locate(ctx, q)
    found = [
        dynamic_secret_json(ctx, r)
        for (e, p, _), r in state.dynamic_secrets.items()
        if (e, p) == (env, path)
    ]
    return ctx.json({"dynamicSecrets": found})


async def update_ds(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), {**LOCATION, "data": F("dict", required=True)})
    data = validate(
        body["data"],
        {
            "inputs": F("dict"),
            "defaultTTL": ttl_field(ctx),
            "maxTTL": ttl_field(ctx, nullable=True),
            "newName": F("str", check=slug_problem),
            "metadata": F("list"),
            "usernameTemplate": F("str", nullable=True),
        },
    )
    env, path = locate(ctx, body)
    name = request.match_info["name"].lower()
    record = find_dynamic_secret(ctx, env, path, name)
    new_name = data.get("newName")
    if new_name and new_name != name:
        if (env, path, new_name) in state.dynamic_secrets:
            raise ApiError(400, "New dynamic secret name already exists", "BadRequest")
        del state.dynamic_secrets[(env, path, name)]
        record.name = new_name
        state.dynamic_secrets[(env, path, new_name)] = record
    if data.get("inputs"):
        record.inputs = {**record.inputs, **data["inputs"]}
    if data.get("defaultTTL"):
        parse_ttl(data["defaultTTL"])
        record.default_ttl = data["defaultTTL"]
    if "maxTTL" in body["data"]:
        record.max_ttl = data.get("maxTTL")
    if data.get("metadata") is not None:
        record.metadata = data["metadata"]
    if "usernameTemplate" in body["data"]:
        record.username_template = data.get("usernameTemplate")
    record.version += 1
    record.updated_at = now_utc()
    return ctx.json({"dynamicSecret": dynamic_secret_json(ctx, record, inputs=True)})


async def delete_ds(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), {**LOCATION, "isForced": F("bool", default=False)})
    env, path = locate(ctx, body)
    name = request.match_info["name"].lower()
    record = find_dynamic_secret(ctx, env, path, name)
    for lease in [lease for lease in state.leases.values() if lease.dynamic_secret_id == record.id]:
        try:
            await get_provider(record.type, record.inputs).revoke(
                record.inputs, lease.external_entity_id
            )
        except (ProviderError, ApiError):
            if not body["isForced"]:
                record.status, record.status_details = "Failed to delete", "lease revocation"
                return ctx.json({"dynamicSecret": dynamic_secret_json(ctx, record)})
        state.leases.pop(lease.id, None)
    del state.dynamic_secrets[(env, path, name)]
    return ctx.json({"dynamicSecret": dynamic_secret_json(ctx, record)})


def add_dynamic_secret_routes(app: web.Application) -> None:
    """The dynamic-secret routes and, with them, their leases'."""
    app.router.add_post("/api/v1/dynamic-secrets", create_ds)
    app.router.add_get("/api/v1/dynamic-secrets", list_ds)
    add_lease_routes(app)  # before /{name}: the same order of matching as upstream
    app.router.add_get("/api/v1/dynamic-secrets/{name}", get_ds)
    app.router.add_patch("/api/v1/dynamic-secrets/{name}", update_ds)
    app.router.add_delete("/api/v1/dynamic-secrets/{name}", delete_ds)
