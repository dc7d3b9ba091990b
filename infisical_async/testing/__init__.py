"""An Infisical-compatible server on loopback, for tests, demos and benchmarks.

It speaks the wire contract of the real server (paths, casing, status codes, error bodies)
for machine-identity auth, secrets (v3 and v4), folders, imports, tags, dynamic secrets and
leases. PostgreSQL and Redis dynamic secrets really create and drop database users (install
``infisical-async[testing]`` for the drivers). ``compat="2024"`` and ``compat="2025"``
answer like the October-2024 and June-2025 servers instead of current upstream.

From a shell::

    python -m infisical_async.testing --host 127.0.0.1 --port 0

From Python::

    async with EmbeddedServer() as server:
        server.info.site_url, server.info.client_id, server.info.client_secret
        server.control.fail_next(3, status=503)

The pytest plugin (installed with the package) provides the ``infisical_server`` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import CONTROL_PREFIX
    from ._control import ServerControl
    from ._server import EmbeddedServer, ServerInfo

__all__ = ["CONTROL_PREFIX", "EmbeddedServer", "ServerControl", "ServerInfo"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the pytest plugin lives in this package and must stay cheap to
    # import (no aiohttp.web) for test runs that never start a server.
    if name == "CONTROL_PREFIX":
        from ._app import CONTROL_PREFIX

        return CONTROL_PREFIX
    if name == "ServerControl":
        from ._control import ServerControl

        return ServerControl
    if name in ("EmbeddedServer", "ServerInfo"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
