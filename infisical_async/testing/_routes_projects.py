"""The project and its environments, by id (v1 workspace, v1 projects) and by slug."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import Context, context_of
from ._state import iso

__all__ = ["add_project_routes", "project_json"]


def project_json(ctx: Context) -> dict[str, Any]:
    state = ctx.state
    created = iso(state.project_created_at)
    data: dict[str, Any] = {
        "id": state.project_id,
        "_id": state.project_id,
        "name": state.project_name,
        "slug": state.project_slug,
        "autoCapitalization": True,
        "orgId": state.org_id,
        "createdAt": created,
        "updatedAt": created,
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
    ctx = context_of(request)
    ctx.authenticate(request)
    ctx.check_project_id(request.match_info["projectId"])
    key = "workspace" if request.path.startswith("/api/v1/workspace") else "project"
    return ctx.json({key: project_json(ctx)})


async def get_project_by_slug(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    ctx.check_project_slug(request.match_info["slug"])
    return ctx.json(project_json(ctx))


def add_project_routes(app: web.Application, ctx: Context) -> None:
    r = app.router
    r.add_get("/api/v1/workspace/{projectId}", get_project)  # served by every generation
    r.add_get("/api/v2/workspace/{slug}", get_project_by_slug)
    if ctx.current:
        r.add_get("/api/v1/projects/slug/{slug}", get_project_by_slug)
        r.add_get("/api/v1/projects/{projectId}", get_project)
