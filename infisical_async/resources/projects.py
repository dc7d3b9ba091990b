"""``client.projects``: find out about a project and its environments."""

from __future__ import annotations

from .._retry import RetryMode
from .._serde import structure
from .._validation import pick, require_str
from ..models import Environment, Project
from ._base import AsyncResource, segment, unwrap

__all__ = ["AsyncProjects"]


class AsyncProjects(AsyncResource):
    """Projects. Reached as ``client.projects``."""

    async def get(self, project_id: str | None = None) -> Project:
        """Fetch a project (name, slug, environments) by id; defaults to the client's."""
        project = require_str(pick(project_id, self._client.project_id, "project_id"), "project_id")
        client = self._client

        async def attempt(generation: str) -> Project:
            # Servers from before the /projects routes (2024, mid-2025) answer on /workspace.
            prefix, key = (
                ("/api/v1/projects/", "project")
                if generation == "projects"
                else ("/api/v1/workspace/", "workspace")
            )
            data = await client._request(
                "GET", prefix + segment(project, "project_id"), mode=RetryMode.IDEMPOTENT
            )
            return structure(unwrap(data, key), Project)

        return await self._state.generations.call("projects", attempt)

    async def get_by_slug(self, slug: str) -> Project:
        """Fetch a project by its slug."""
        slug = require_str(slug, "slug")
        client = self._client

        async def attempt(generation: str) -> Project:
            path = (
                "/api/v1/projects/slug/" if generation == "projects" else "/api/v2/workspace/"
            ) + segment(slug, "slug")
            data = await client._request("GET", path, mode=RetryMode.IDEMPOTENT)
            return structure(data, Project)

        return await self._state.generations.call("projects", attempt)

    async def list_environments(self, project_id: str | None = None) -> tuple[Environment, ...]:
        """The environments of a project (slugs to pass as ``environment=``)."""
        return (await self.get(project_id)).environments
