"""Folders: v2, and the older v1 (``workspaceId``, no description) every generation serves."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ._context import Context, context_of, normalize_path
from ._state import FolderRecord, iso
from ._wire import ApiError, F, validate

__all__ = ["add_folder_routes", "folder_json", "require_parent", "v1_folder_json"]

_FOLDER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _folder_name_check(value: str) -> str | None:
    if not _FOLDER_NAME.match(value):
        return (
            "Invalid folder name. Only alphanumeric characters, dashes, and underscores "
            "are allowed."
        )
    return None


def folder_json(
    ctx: Context, folder: FolderRecord, *, relative_to: str | None = None
) -> dict[str, Any]:
    """The v2 folder shape (with ``relativePath`` from ``relative_to`` when listing deep)."""
    data: dict[str, Any] = {
        "id": folder.id,
        "name": folder.name,
        "version": folder.version,
        "createdAt": iso(folder.created_at),
        "updatedAt": iso(folder.updated_at),
        "envId": ctx.state.environments[folder.env]["id"],
        "parentId": folder.parent_id,
        "isReserved": False,
        "description": folder.description,
        "lastSecretModified": None,
    }
    if relative_to is not None:
        rel = folder.path[len(relative_to) :] if relative_to != "/" else folder.path
        data["relativePath"] = rel if rel.startswith("/") else "/" + rel
    return data


def v1_folder_json(ctx: Context, folder: FolderRecord) -> dict[str, Any]:
    """The v1 folder shape (no description, no lastSecretModified, no path)."""
    data = folder_json(ctx, folder)
    del data["description"], data["lastSecretModified"]
    return data


def require_parent(ctx: Context, env: str, path: str) -> FolderRecord:
    """The folder at ``path``, or the server's 404 naming it."""
    ctx.check_environment(env)
    folder = ctx.state.folder(env, path)
    if folder is None:
        raise ApiError(
            404,
            f"Folder with path '{path}' in environment with slug '{env}' not found",
            "NotFound",
        )
    return folder


def _project_key(request: web.Request) -> str:
    return "workspaceId" if request.path.startswith("/api/v1/") else "projectId"


async def create_folder(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = _project_key(request)
    v1 = key == "workspaceId"
    body = validate(
        await ctx.body(request),
        {
            key: F("str", required=True),
            "environment": F("str", required=True),
            "name": F("str", required=True, min_len=1, check=_folder_name_check),
            "path": F("str", default="/"),
            "description": F("str", nullable=True),
        },
    )
    ctx.check_project_id(body[key])
    env, parent = body["environment"], normalize_path(body["path"])
    ctx.check_environment(env)
    full = (parent.rstrip("/") or "") + "/" + body["name"]
    folder = ctx.state.folder(env, full)
    if folder is None:
        folder = ctx.state.ensure_folder(env, full)
        folder.description = None if v1 else body.get("description")
    # (An existing folder is answered instead of failing.)
    if v1:
        return ctx.json({"folder": v1_folder_json(ctx, folder)})
    return ctx.json({"folder": {**folder_json(ctx, folder), "path": full}})


async def list_folders(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = _project_key(request)
    schema = {
        key: F("str", required=True),
        "environment": F("str", required=True),
        "path": F("str", default="/"),
    }
    if key == "projectId":  # only v2 has `recursive`: v1 lists one level
        schema["recursive"] = F("str", default="false")
    q = validate(request.query, schema, query=True)
    ctx.check_project_id(q[key])
    path = normalize_path(q["path"])
    parent = require_parent(ctx, q["environment"], path)
    recursive = q.get("recursive", "false") not in ("", "0", "false")
    prefix = "/" if path == "/" else path + "/"
    found = []
    for (env, fpath), folder in sorted(ctx.state.folders.items()):
        if env != q["environment"] or folder is parent or not fpath.startswith(prefix):
            continue
        if not recursive and folder.parent_id != parent.id:
            continue
        if key == "workspaceId":
            found.append(v1_folder_json(ctx, folder))
        else:
            found.append(folder_json(ctx, folder, relative_to=path if recursive else None))
    return ctx.json({"folders": found})


async def delete_folder(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = _project_key(request)
    body = validate(
        await ctx.body(request),
        {
            key: F("str", required=True),
            "environment": F("str", required=True),
            "path": F("str", default="/"),
            "forceDelete": F("bool", default=False),
        },
    )
    ctx.check_project_id(body[key])
    env, path = body["environment"], normalize_path(body["path"])
    parent = require_parent(ctx, env, path)
    wanted = request.match_info["idOrName"]
    target = next(
        (
            f
            for f in ctx.state.folders.values()
            if f.env == env and f.parent_id == parent.id and wanted in (f.id, f.name)
        ),
        None,
    )
    if target is None:
        raise ApiError(404, f"Folder with ID '{wanted}' not found", "NotFound")
    ctx.state.remove_folder_tree(env, target.path)
    shape = v1_folder_json(ctx, target) if key == "workspaceId" else folder_json(ctx, target)
    return ctx.json({"folder": shape})


def add_folder_routes(app: web.Application, ctx: Context) -> None:
    r = app.router
    r.add_post("/api/v1/folders", create_folder)  # the deprecated routes every generation serves
    r.add_get("/api/v1/folders", list_folders)
    r.add_delete("/api/v1/folders/{idOrName}", delete_folder)
    if ctx.current:
        r.add_post("/api/v2/folders", create_folder)
        r.add_get("/api/v2/folders", list_folders)
        r.add_delete("/api/v2/folders/{idOrName}", delete_folder)
