"""``client.folders``: the folder tree of an environment."""

from __future__ import annotations

import builtins

import attrs

from .._retry import RetryMode
from .._serde import structure
from .._validation import pick, require_name, require_path
from ..errors import InvalidArgumentError
from ..models import Folder
from ._base import AsyncResource, segment, unwrap

__all__ = ["AsyncFolders"]


class AsyncFolders(AsyncResource):
    """Folders. Reached as ``client.folders``.

    ``secret_path`` (the folder a call works in), ``project_id`` and ``environment``
    default to the client's.
    """

    def _scope(self, project_id: str | None, environment: str | None) -> tuple[str, str]:
        client = self._client
        return (
            pick(project_id, client.project_id, "project_id"),
            pick(environment, client.environment, "environment"),
        )

    async def list(
        self,
        *,
        secret_path: str | None = None,
        recursive: bool = False,
        project_id: str | None = None,
        environment: str | None = None,
    ) -> tuple[Folder, ...]:
        """List the folders in ``secret_path`` (all descendants with ``recursive=True``).

        Raises:
            NotFoundError: the environment or path does not exist.
        """
        project, env = self._scope(project_id, environment)
        client = self._client
        path = require_path(pick(secret_path, client.secret_path, "secret_path"), "secret_path")

        async def attempt(generation: str) -> tuple[Folder, ...]:
            if generation == "v1":
                return await self._list_v1(project, env, path, recursive)
            params = {
                "projectId": project,
                "environment": env,
                "path": path,
                "recursive": "true" if recursive else "false",
            }
            data = await client._request(
                "GET", "/api/v2/folders", params=params, mode=RetryMode.IDEMPOTENT
            )
            return structure(unwrap(data, "folders"), tuple[Folder, ...])

        return await self._state.generations.call("folders", attempt)

    async def _list_v1(
        self, project: str, env: str, path: str, recursive: bool
    ) -> tuple[Folder, ...]:
        """``/api/v1/folders`` lists one level; a recursive listing walks the tree here."""
        params = {"workspaceId": project, "environment": env, "path": path}
        data = await self._client._request(
            "GET", "/api/v1/folders", params=params, mode=RetryMode.IDEMPOTENT
        )
        children = structure(unwrap(data, "folders"), tuple[Folder, ...])
        if not recursive:
            return children
        found: builtins.list[Folder] = []
        for child in children:
            child_path = path.rstrip("/") + "/" + child.name
            found.append(attrs.evolve(child, relative_path="/" + child.name))
            for below in await self._list_v1(project, env, child_path, True):
                found.append(
                    attrs.evolve(
                        below, relative_path="/" + child.name + (below.relative_path or "")
                    )
                )
        return tuple(found)

    async def create(
        self,
        name: str,
        *,
        secret_path: str | None = None,
        description: str | None = None,
        project_id: str | None = None,
        environment: str | None = None,
    ) -> Folder:
        """Create folder ``name`` in ``secret_path`` (letters, digits, ``-`` and ``_`` only)."""
        name = require_name(name, "name")
        if not all(c.isalnum() or c in "-_" for c in name):
            raise InvalidArgumentError("name", "may contain only letters, digits, '-' and '_'")
        project, env = self._scope(project_id, environment)
        client = self._client
        path = require_path(pick(secret_path, client.secret_path, "secret_path"), "secret_path")

        async def attempt(generation: str) -> Folder:
            body: dict[str, object] = {
                "projectId" if generation == "v2" else "workspaceId": project,
                "environment": env,
                "name": name,
                "path": path,
            }
            if description is not None:
                body["description"] = description
            data = await client._request(
                "POST", f"/api/{generation}/folders", json=body, mode=RetryMode.WRITE
            )
            return structure(unwrap(data, "folder"), Folder)

        return await self._state.generations.call("folders", attempt)

    async def delete(
        self,
        folder: str,
        *,
        secret_path: str | None = None,
        force: bool = False,
        project_id: str | None = None,
        environment: str | None = None,
    ) -> Folder | None:
        """Delete a folder (by id or name, in ``secret_path``) with everything in it.

        Returns:
            The deleted folder; ``None`` when a retry after a lost answer found it already
            gone (the earlier attempt deleted it).

        Raises:
            NotFoundError: no such folder.
        """
        folder = require_name(folder, "folder")
        project, env = self._scope(project_id, environment)
        client = self._client
        path = require_path(pick(secret_path, client.secret_path, "secret_path"), "secret_path")

        async def attempt(generation: str) -> Folder | None:
            body: dict[str, object] = {
                "projectId" if generation == "v2" else "workspaceId": project,
                "environment": env,
                "path": path,
            }
            if generation == "v2":
                body["forceDelete"] = force
            data = await client._request(
                "DELETE",
                f"/api/{generation}/folders/" + segment(folder),
                json=body,
                mode=RetryMode.DELETE,
            )
            return None if data is None else structure(unwrap(data, "folder"), Folder)

        return await self._state.generations.call("folders", attempt)
