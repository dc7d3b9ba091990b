"""The sync client blocks its caller, so the server runs on its own thread here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient, UniversalAuth


@pytest.fixture(params=["current", "2024"])
def threaded_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    with EmbeddedServer(compat=request.param).run_in_thread() as server:
        yield server


def make_sync_client(server: EmbeddedServer, **options: object) -> InfisicalClient:
    info = server.info
    options.setdefault(
        "auth", UniversalAuth(client_id=info.client_id, client_secret=info.client_secret)
    )
    options.setdefault("project_id", info.project_id)
    options.setdefault("environment", "dev")
    return InfisicalClient(site_url=info.site_url, **options)  # type: ignore[arg-type]


@pytest.fixture
def sync_client(threaded_server: EmbeddedServer) -> Iterator[InfisicalClient]:
    with make_sync_client(threaded_server) as client:
        yield client
