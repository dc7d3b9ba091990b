"""Folders (v2, and the older v1), projects and environments."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ._context import Context, normalize_path
from ._state import FolderRecord, iso, now_utc
from ._wire import ApiError, F, validate

__all__ = ["add_folder_routes"]

_FOLDER_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def _folder_name_check(value: str) -> str | None:
    if not _FOLDER_NAME.match(value):
        return (
            "Invalid folder name. Only alphanumeric characters, dashes, and underscores "
            "are allowed."
        )
    return None


def add_folder_routes(app: web.Application, ctx: Context) -> None:
    state = ctx.state

    def folder_json(folder: FolderRecord, *, relative_to: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": folder.id,
            "name": folder.name,
            "version": folder.version,
            "createdAt": iso(folder.created_at),
            "updatedAt": iso(folder.updated_at),
            "envId": state.environments[folder.env]["id"],
            "parentId": folder.parent_id,
            "isReserved": False,
            "description": folder.description,
            "lastSecretModified": None,
        }
        if relative_to is not None:
            rel = folder.path[len(relative_to) :] if relative_to != "/" else folder.path
            data["relativePath"] = rel if rel.startswith("/") else "/" + rel
        return data

    def parent_or_404(env: str, path: str) -> FolderRecord:
        ctx.check_environment(env)
        folder = state.folder(env, path)
        if folder is None:
            raise ApiError(
                404,
                f"Folder with path '{path}' in environment with slug '{env}' not found",
                "NotFound",
            )
        return folder

    def v1_json(folder: FolderRecord) -> dict[str, Any]:
        """The v1 folder shape (no description, no lastSecretModified, no path)."""
        data = folder_json(folder)
        del data["description"], data["lastSecretModified"]
        return data

    def project_key(request: web.Request) -> str:
        return "workspaceId" if request.path.startswith("/api/v1/") else "projectId"

    async def create_folder(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        v1 = project_key(request) == "workspaceId"
        body = validate(
            await ctx.body(request),
            {
                project_key(request): F("str", required=True),
                "environment": F("str", required=True),
                "name": F("str", required=True, min_len=1, check=_folder_name_check),
                "path": F("str", default="/"),
                "description": F("str", nullable=True),
            },
        )
        ctx.check_project_id(body[project_key(request)])
        env, parent = body["environment"], normalize_path(body["path"])
        ctx.check_environment(env)
        full = (parent.rstrip("/") or "") + "/" + body["name"]
        folder = state.folder(env, full)
        if folder is None:
            folder = state.ensure_folder(env, full)
            folder.description = None if v1 else body.get("description")
        # (An existing folder is answered instead of failing.)
        if v1:
            return ctx.json({"folder": v1_json(folder)})
        return ctx.json({"folder": {**folder_json(folder), "path": full}})

    async def list_folders(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        key = project_key(request)
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
        parent = parent_or_404(q["environment"], path)
        recursive = q.get("recursive", "false") not in ("", "0", "false")
        prefix = "/" if path == "/" else path + "/"
        found = []
        for (env, fpath), folder in sorted(state.folders.items()):
            if env != q["environment"] or folder is parent or not fpath.startswith(prefix):
                continue
            if not recursive and folder.parent_id != parent.id:
                continue
            if key == "workspaceId":
                found.append(v1_json(folder))
            else:
                found.append(folder_json(folder, relative_to=path if recursive else None))
        return ctx.json({"folders": found})

    async def delete_folder(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        v1 = project_key(request) == "workspaceId"
        body = validate(
            await ctx.body(request),
            {
                project_key(request): F("str", required=True),
                "environment": F("str", required=True),
                "path": F("str", default="/"),
                "forceDelete": F("bool", default=False),
            },
        )
        ctx.check_project_id(body[project_key(request)])
        env, path = body["environment"], normalize_path(body["path"])
        parent = parent_or_404(env, path)
        key = request.match_info["idOrName"]
        target = next(
            (
                f
                for f in state.folders.values()
                if f.env == env and f.parent_id == parent.id and key in (f.id, f.name)
            ),
            None,
        )
        if target is None:
            raise ApiError(404, f"Folder with ID '{key}' not found", "NotFound")
        state.remove_folder_tree(env, target.path)
        return ctx.json({"folder": v1_json(target) if v1 else folder_json(target)})

    project_created = iso(now_utc())

    def project_json() -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": state.project_id,
            "_id": state.project_id,
            "name": state.project_name,
            "slug": state.project_slug,
            "autoCapitalization": True,
            "orgId": state.org_id,
            "createdAt": project_created,
            "updatedAt": project_created,
            "version": 3,
            "upgradeStatus": None,
            "pitVersionLimit": 10,
            "kmsCertificateKeyId": None,
            "auditLogsRetentionDays": None,
            "environments": [
                {"name": e["name"], "slug": e["slug"], "id": e["id"]}
                for e in state.environments.values()
            ],
        }
        if not ctx.legacy:
            data["type"] = "secret-manager"
        return data

    async def get_project(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        ctx.check_project_id(request.match_info["projectId"])
        key = "workspace" if request.path.startswith("/api/v1/workspace") else "project"
        return ctx.json({key: project_json()})

    async def get_project_by_slug(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        ctx.check_project_slug(request.match_info["slug"])
        return ctx.json(project_json())

    r = app.router
    # The deprecated routes every generation still serves.
    r.add_post("/api/v1/folders", create_folder)
    r.add_get("/api/v1/folders", list_folders)
    r.add_delete("/api/v1/folders/{idOrName}", delete_folder)
    r.add_get("/api/v1/workspace/{projectId}", get_project)
    r.add_get("/api/v2/workspace/{slug}", get_project_by_slug)
    if ctx.current:
        r.add_post("/api/v2/folders", create_folder)
        r.add_get("/api/v2/folders", list_folders)
        r.add_delete("/api/v2/folders/{idOrName}", delete_folder)
        r.add_get("/api/v1/projects/slug/{slug}", get_project_by_slug)
        r.add_get("/api/v1/projects/{projectId}", get_project)
