"""Which API generation a server speaks, learned once per client for each route family.

Infisical servers in the wild answer on different routes for the same operation: an
October-2024 or June-2025 self-hosted server has ``/api/v3/secrets/raw`` but no
``/api/v4/secrets``, ``/api/v1/folders`` but no ``/api/v2/folders``, ``/api/v1/workspace``
but no ``/api/v1/projects``. Each family of routes starts at the newest generation; the
first time the server answers the framework's own "Route ... not found" 404 for it, the
family moves to the next older generation for the rest of the client's life, so a missing
route is asked for once, not on every call.

Only that framework 404 moves a family. A 404 the application sends ("Secret not found",
"Folder ... not found": the caller's own input) is raised as it is and teaches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import APIStatusError, NotFoundError

__all__ = ["ROUTE_FAMILIES", "ApiGenerations", "is_route_not_found"]

T = TypeVar("T")

ROUTE_FAMILIES: dict[str, tuple[str, ...]] = {
    "secrets": ("v4", "v3"),
    "folders": ("v2", "v1"),
    "projects": ("projects", "workspace"),
}
"""Each family's generations, newest first."""

# Fastify's default not-found handler: "Route GET:/api/v4/secrets?x=1 not found".
_ROUTE_NOT_FOUND = re.compile(r"^Route [A-Z]+:/\S* not found$")


def is_route_not_found(exc: APIStatusError) -> bool:
    """True for the framework's "no such route" 404, as opposed to "no such secret"."""
    return (
        exc.status_code == 404
        and exc.error == "Not Found"
        and _ROUTE_NOT_FOUND.match(exc.message) is not None
    )


class ApiGenerations:
    """What this client has learned about its server. Shared by ``with_options`` views."""

    def __init__(self) -> None:
        self._current: dict[str, int] = dict.fromkeys(ROUTE_FAMILIES, 0)
        self.rename_needs_value = False
        """The server refuses a rename without ``secretValue`` (October 2024)."""

    def current(self, family: str) -> str:
        """The generation ``family`` is spoken in now, e.g. ``"v4"``."""
        return ROUTE_FAMILIES[family][self._current[family]]

    def learned(self) -> dict[str, str]:
        """Every family and its current generation (for logs and tests)."""
        return {family: self.current(family) for family in ROUTE_FAMILIES}

    async def call(self, family: str, attempt: Callable[[str], Awaitable[T]]) -> T:
        """Run ``attempt(generation)``; on a route-404, step back a generation and retry.

        Raises:
            NotFoundError: an application 404, or a route-404 from the oldest generation.
        """
        generations = ROUTE_FAMILIES[family]
        while True:
            index = self._current[family]
            try:
                return await attempt(generations[index])
            except NotFoundError as exc:
                if index + 1 >= len(generations) or not is_route_not_found(exc):
                    raise
                # Concurrent callers may learn the same thing; never move back forwards.
                self._current[family] = max(self._current[family], index + 1)
