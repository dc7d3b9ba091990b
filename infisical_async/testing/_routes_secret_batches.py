"""Batch secret routes (v3 raw and v4): create, update (or upsert) and delete many at once.

A batch is all or nothing: every item is checked before the first write.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import context_of, normalize_path
from ._secret_reads import find_secret, require_folder, secret_json
from ._secret_schemas import api_of, check_project
from ._secret_writes import create_secret_record, pending_approval, update_secret_record
from ._state import SecretRecord
from ._wire import ApiError, F, validate

__all__ = ["batch_create", "batch_delete", "batch_items", "batch_update"]

_NOT_AN_OBJECT = [
    {
        "code": "invalid_type",
        "expected": "object",
        "path": ["secrets"],
        "message": "Expected object",
    }
]
_MODE = F("str", default="failOnNotFound", choices=("ignore", "upsert", "failOnNotFound"))


def batch_items(items: list[Any], schema: dict[str, F]) -> list[dict[str, Any]]:
    """Each item of a batch, validated (a 422 for an item that is not an object)."""
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ApiError(422, _NOT_AN_OBJECT, "ValidationFailure")
        out.append(validate(item, schema))
    return out


async def batch_create(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), api.batch_base)
    check_project(ctx, api, body, by_slug=False)
    env, path = body["environment"], normalize_path(body["secretPath"])
    items = batch_items(body["secrets"], api.batch_create_item)
    require_folder(ctx, env, path)
    for item in items:
        if find_secret(state, env, path, item["secretKey"], "shared") is not None:
            raise ApiError(400, "Secret already exist", "BadRequest")
    pending = pending_approval(state, env, path)
    if pending is not None:
        return ctx.json(pending)
    created = [
        create_secret_record(state, env, path, item["secretKey"], {**item, "type": "shared"})
        for item in items
    ]
    return ctx.json({"secrets": [secret_json(ctx, r) for r in created]})


async def batch_update(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), {**api.batch_base, "mode": _MODE})
    check_project(ctx, api, body, by_slug=False)
    env, base_path = body["environment"], normalize_path(body["secretPath"])
    items = batch_items(body["secrets"], api.batch_update_item)
    ctx.check_environment(env)
    plan: list[tuple[dict[str, Any], str, SecretRecord | None]] = []
    for item in items:
        path = normalize_path(item["secretPath"]) if item.get("secretPath") else base_path
        require_folder(ctx, env, path)
        record = find_secret(state, env, path, item["secretKey"], "shared")
        if record is None and ctx.legacy:
            # The 2024 server had no `mode`: every missing secret failed the batch.
            raise ApiError(404, "Secret does not exist: ", "NotFound")
        if record is None and body["mode"] == "failOnNotFound":
            raise ApiError(404, "Secret not found", "NotFound")
        plan.append((item, path, record))
    pending = pending_approval(state, env, base_path)
    if pending is not None:
        return ctx.json(pending)
    updated = []
    for item, path, record in plan:
        if record is None:
            if body["mode"] == "ignore":
                continue
            record = create_secret_record(
                state,
                env,
                path,
                item["secretKey"],
                {**item, "secretValue": item.get("secretValue") or ""},
            )
        else:
            update_secret_record(state, record, item)
        updated.append(secret_json(ctx, record, hidden=False))
    return ctx.json({"secrets": updated})


async def batch_delete(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), api.batch_base)
    check_project(ctx, api, body, by_slug=False)
    env, path = body["environment"], normalize_path(body["secretPath"])
    items = batch_items(body["secrets"], api.batch_delete_item)
    require_folder(ctx, env, path)
    records = []
    for item in items:
        record = find_secret(state, env, path, item["secretKey"], item["type"])
        if record is None:
            raise ApiError(404, "Secret not found", "NotFound")
        records.append(record)
    pending = pending_approval(state, env, path)
    if pending is not None:
        return ctx.json(pending)
    for record in records:
        state.remove_secret(record)
    return ctx.json({"secrets": [secret_json(ctx, r) for r in records]})
