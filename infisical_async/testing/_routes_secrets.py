"""Secret routes (v3 raw and v4): list, read, create, update, delete one secret."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import context_of, normalize_path
from ._routes_secret_batches import batch_create, batch_delete, batch_update
from ._secret_reads import (
    find_secret,
    imports_json,
    require_folder,
    resolve_references,
    secret_json,
    subfolders,
    visible_secrets,
)
from ._secret_schemas import Api, api_of, check_project, secret_api
from ._secret_writes import (
    check_secret_name,
    create_secret_record,
    pending_approval,
    update_secret_record,
)
from ._wire import ApiError, validate, validation_error

__all__ = ["add_secret_routes", "secret_name_of"]


def secret_name_of(request: web.Request) -> str:
    """The secret name in the route, checked as the server checks names it stores."""
    name = request.match_info["name"].strip()
    problem = check_secret_name(name)
    if problem:
        raise validation_error([{"code": "custom", "path": ["secretName"], "message": problem}])
    return name


async def list_secrets(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    state = ctx.state
    ctx.authenticate(request)
    q = validate(request.query, api.list_query(ctx.legacy), query=True)
    env = q.get("environment")
    has_project = q.get(api.project_key) is not None or (api.api == "v3" and q.get("workspaceSlug"))
    if not has_project or not env:
        what = "project id" if api.api == "v4" else "workspace id"
        raise ApiError(400, f"Missing {what} or environment", "BadRequest")
    check_project(ctx, api, q, by_slug=True)
    path = normalize_path(q["secretPath"])
    wants_imports = q["include_imports"] or q.get("includeImports")
    if not ctx.current and state.folder(env, path) is None:
        # The 2024 and June-2025 servers list an unknown environment or folder as empty.
        return ctx.json({"secrets": [], "imports": []} if wants_imports else {"secrets": []})
    ctx.check_environment(env)
    paths = [path] + (subfolders(state, env, path) if q["recursive"] else [])
    tag_slugs = {s.strip() for s in (q.get("tagSlugs") or "").split(",") if s.strip()}
    tag_ids = {t["id"] for t in state.tags.values() if t["slug"] in tag_slugs}
    hidden = not q.get("viewSecretValue", True)
    secrets_out = []
    for folder_path in paths:
        for record in visible_secrets(state, env, folder_path):
            if tag_slugs and not tag_ids.intersection(record.tag_ids):
                continue
            value = (
                resolve_references(state, record.value, env, folder_path)
                if q["expandSecretReferences"]
                else None
            )
            item = secret_json(
                ctx, record, value=value, with_path=True, with_tags=True, hidden=hidden
            )
            secrets_out.append(item)
    payload: dict[str, Any] = {"secrets": secrets_out}
    if wants_imports:
        payload["imports"] = imports_json(ctx, env, path, q["expandSecretReferences"])
    return ctx.json(payload)


async def get_secret(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    state = ctx.state
    ctx.authenticate(request)
    name = request.match_info["name"].strip()
    q = validate(request.query, api.get, query=True)
    check_project(ctx, api, q, by_slug=True)
    env = q.get("environment")
    if not env:
        raise ApiError(400, "Missing environment", "BadRequest")
    path = normalize_path(q["secretPath"])
    require_folder(ctx, env, path)
    record = find_secret(state, env, path, name, q["type"])
    source_env, source_path = env, path
    if record is None and q["include_imports"]:
        for imp in sorted(state.imports, key=lambda i: -i.position):
            if imp.env == env and imp.path == path:
                record = find_secret(state, imp.import_env, imp.import_path, name, "shared")
                if record is not None:
                    source_env, source_path = imp.import_env, imp.import_path
                    break
    if record is None:
        raise ApiError(404, "Secret not found", "NotFound")
    value = record.value
    if q.get("version") is not None and not ctx.legacy:
        # (The 2024 server ignored `version` on the raw route and returned the latest.)
        old = next((v for v in record.history if v.version == q["version"]), None)
        if old is None:
            raise ApiError(404, "Secret version not found", "NotFound")
        value = old.value
    if q["expandSecretReferences"]:
        value = resolve_references(state, value, source_env, source_path)
    data = secret_json(ctx, record, value=value, with_tags=True, hidden=not q["viewSecretValue"])
    if not ctx.legacy:
        data["secretPath"] = record.path
    return ctx.json({"secret": data})


async def create_secret(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    ctx.authenticate(request)
    name = secret_name_of(request)
    body = validate(await ctx.body(request), api.create)
    check_project(ctx, api, body, by_slug=False)
    env, path = body["environment"], normalize_path(body["secretPath"])
    require_folder(ctx, env, path)
    pending = pending_approval(ctx.state, env, path)
    if pending is not None:
        return ctx.json(pending)
    record = create_secret_record(ctx.state, env, path, name, body)
    return ctx.json({"secret": secret_json(ctx, record)})


_RENAME_NEEDS_VALUE = [
    {
        "code": "invalid_type",
        "expected": "string",
        "received": "undefined",
        "path": ["secretValue"],
        "message": "Required",
    }
]


async def update_secret(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    ctx.authenticate(request)
    name = request.match_info["name"].strip()
    body = validate(await ctx.body(request), api.update)
    if ctx.legacy and body.get("newSecretName") and body.get("secretValue") is None:
        raise validation_error(_RENAME_NEEDS_VALUE)  # the 2024 rename schema required it
    check_project(ctx, api, body, by_slug=False)
    env, path = body["environment"], normalize_path(body["secretPath"])
    require_folder(ctx, env, path)
    record = find_secret(ctx.state, env, path, name, body["type"])
    if record is None:
        raise ApiError(404, "Secret not found", "NotFound")
    pending = pending_approval(ctx.state, env, path)
    if pending is not None:
        return ctx.json(pending)
    update_secret_record(ctx.state, record, body)
    return ctx.json({"secret": secret_json(ctx, record, hidden=False)})


async def delete_secret(request: web.Request) -> web.Response:
    ctx, api = context_of(request), api_of(request)
    ctx.authenticate(request)
    name = request.match_info["name"].strip()
    body = validate(await ctx.body(request), api.delete)
    check_project(ctx, api, body, by_slug=False)
    env, path = body["environment"], normalize_path(body["secretPath"])
    require_folder(ctx, env, path)
    record = find_secret(ctx.state, env, path, name, body["type"])
    if record is None:
        raise ApiError(404, "Secret not found", "NotFound")
    pending = pending_approval(ctx.state, env, path)
    if pending is not None:
        return ctx.json(pending)
    ctx.state.remove_secret(record)
    return ctx.json({"secret": secret_json(ctx, record)})


def add_secret_routes(app: web.Application, api: Api) -> None:
    routes = secret_api(api)
    router = app.router
    router.add_get(routes.base, list_secrets)
    router.add_post(routes.batch, batch_create)
    router.add_patch(routes.batch, batch_update)
    router.add_delete(routes.batch, batch_delete)
    router.add_get(routes.base + "/{name}", get_secret)
    router.add_post(routes.base + "/{name}", create_secret)
    router.add_patch(routes.base + "/{name}", update_secret)
    router.add_delete(routes.base + "/{name}", delete_secret)
