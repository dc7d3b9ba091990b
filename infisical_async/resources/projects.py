"""``client.projects``: find out about a project and its environments."""

from __future__ import annotations

import builtins
from typing import Any

from .._retry import RetryMode
from .._serde import structure
from .._transport import is_route_not_found
from .._validation import pick, require_str
from ..errors import NotFoundError
from ..models import Environment, Project
from ._base import AsyncResource, segment, unwrap

__all__ = ["AsyncProjects"]


class AsyncProjects(AsyncResource):
    """Projects. Reached as ``client.projects``."""

    async def get(self, project_id: str | None = None) -> Project:
        """Fetch a project (name, slug, environments) by id; defaults to the client's."""
        project = require_str(pick(project_id, self._client.project_id, "project_id"), "project_id")
        request = self._client._request
        try:
            data: Any = await request(
                "GET", "/api/v1/projects/" + segment(project), mode=RetryMode.IDEMPOTENT
            )
            return structure(unwrap(data, "project"), Project)
        except NotFoundError as exc:
            if not is_route_not_found(exc):
                raise
        # Servers from before the /projects routes answer on /workspace.
        data = await request(
            "GET", "/api/v1/workspace/" + segment(project), mode=RetryMode.IDEMPOTENT
        )
        return structure(unwrap(data, "workspace"), Project)

    async def get_by_slug(self, slug: str) -> Project:
        """Fetch a project by its slug."""
        data = await self._client._request(
            "GET",
            "/api/v1/projects/slug/" + segment(require_str(slug, "slug")),
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(data, Project)

    async def list_environments(self, project_id: str | None = None) -> builtins.list[Environment]:
        """The environments of a project (slugs to pass as ``environment=``)."""
        return (await self.get(project_id)).environments
