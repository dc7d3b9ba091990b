"""Secret imports (one folder's secrets visible in another) and project tags."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import Context, context_of, normalize_path
from ._routes_events import EVENTS_KEY
from ._state import ImportRecord, ServerState, new_id
from ._wire import ApiError, F, validate

__all__ = ["add_import_and_tag_routes", "import_json"]

_CREATE_IMPORT = {
    "workspaceId": F("str"),
    "projectId": F("str"),
    "environment": F("str", required=True),
    "path": F("str", default="/"),
    "import": F("dict", required=True),
}
_IMPORT_TARGET = {"environment": F("str", required=True), "path": F("str", required=True)}
_LIST_IMPORTS = {
    "workspaceId": F("str"),
    "projectId": F("str"),
    "environment": F("str", required=True),
    "path": F("str", default="/"),
}
_CREATE_TAG = {"slug": F("str", required=True, min_len=1), "name": F("str"), "color": F("str")}


def import_json(state: ServerState, imp: ImportRecord) -> dict[str, Any]:
    environment = state.environments[imp.import_env]
    return {
        "id": imp.id,
        "position": imp.position,
        "importEnv": {
            "slug": imp.import_env,
            "name": environment["name"],
            "id": environment["id"],
        },
        "importPath": imp.import_path,
    }


async def create_import(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    body = validate(await ctx.body(request), _CREATE_IMPORT)
    ctx.check_project_id(body.get("projectId") or body.get("workspaceId") or "")
    target = validate(body["import"], _IMPORT_TARGET)
    env, path = body["environment"], normalize_path(body["path"])
    ctx.check_environment(env)
    ctx.check_environment(target["environment"])
    if (
        state.folder(env, path) is None
        or state.folder(target["environment"], normalize_path(target["path"])) is None
    ):
        raise ApiError(404, "Folder not found", "NotFound")
    imp = ImportRecord(
        id=new_id(),
        env=env,
        path=path,
        import_env=target["environment"],
        import_path=normalize_path(target["path"]),
        position=len(state.imports) + 1,
    )
    state.imports.append(imp)
    request.app[EVENTS_KEY].bus.import_changed(env, path)
    return ctx.json(
        {"message": "Successfully created secret import", "secretImport": import_json(state, imp)}
    )


async def list_imports(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    q = validate(request.query, _LIST_IMPORTS, query=True)
    ctx.check_project_id(q.get("projectId") or q.get("workspaceId") or "")
    path = normalize_path(q["path"])
    found = [
        import_json(ctx.state, i)
        for i in ctx.state.imports
        if i.env == q["environment"] and i.path == path
    ]
    return ctx.json({"secretImports": found})


def _project_of_route(request: web.Request) -> Context:
    ctx = context_of(request)
    ctx.authenticate(request)
    ctx.check_project_id(request.match_info["projectId"])
    return ctx


async def create_tag(request: web.Request) -> web.Response:
    ctx = _project_of_route(request)
    state = ctx.state
    body = validate(await ctx.body(request), _CREATE_TAG)
    if any(t["slug"] == body["slug"] for t in state.tags.values()):
        raise ApiError(400, "Tag with this slug already exists", "BadRequest")
    tag = {
        "id": new_id(),
        "slug": body["slug"],
        "name": body.get("name") or body["slug"],
        "color": body.get("color"),
    }
    state.tags[tag["id"]] = tag
    return ctx.json({"workspaceTag": tag})


async def list_tags(request: web.Request) -> web.Response:
    ctx = _project_of_route(request)
    return ctx.json({"workspaceTags": list(ctx.state.tags.values())})


async def delete_tag(request: web.Request) -> web.Response:
    ctx = _project_of_route(request)
    state = ctx.state
    tag = state.tags.pop(request.match_info["tagId"], None)
    if tag is None:
        raise ApiError(404, "Tag not found", "NotFound")
    for bucket in state.secrets.values():
        for record in bucket.values():
            if tag["id"] in record.tag_ids:
                record.tag_ids = [t for t in record.tag_ids if t != tag["id"]]
    return ctx.json({"workspaceTag": tag})


def add_import_and_tag_routes(app: web.Application, ctx: Context) -> None:
    app.router.add_post("/api/v1/secret-imports", create_import)
    app.router.add_get("/api/v1/secret-imports", list_imports)
    # (Older servers have no /api/v1/projects routes at all.)
    prefixes = ("/api/v1/workspace", "/api/v1/projects") if ctx.current else ("/api/v1/workspace",)
    for prefix in prefixes:
        app.router.add_post(prefix + "/{projectId}/tags", create_tag)
        app.router.add_get(prefix + "/{projectId}/tags", list_tags)
        app.router.add_delete(prefix + "/{projectId}/tags/{tagId}", delete_tag)
