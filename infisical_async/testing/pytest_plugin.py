"""pytest fixtures for testing code that uses Infisical, without an Infisical account.

Registered through the ``pytest11`` entry point, so installing the package is enough::

    def test_reads_secret(infisical_server):
        info = infisical_server.info          # site_url, client_id, client_secret, project_id
        infisical_server.control.fail_next(1) # faults, counters, token expiry

The server runs in a background thread, so it serves async and blocking clients alike.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import EmbeddedServer, ServerInfo

__all__ = ["infisical_server", "infisical_server_info"]


@pytest.fixture
def infisical_server() -> Iterator[EmbeddedServer]:
    """A fresh embedded server (current-upstream behaviour) for one test."""
    with EmbeddedServer().run_in_thread() as server:
        yield server


@pytest.fixture
def infisical_server_info(infisical_server: EmbeddedServer) -> ServerInfo:
    """Site URL, credentials and project of the ``infisical_server`` fixture."""
    return infisical_server.info
