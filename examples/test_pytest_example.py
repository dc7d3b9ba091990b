"""Testing your own code against Infisical without an account, with the shipped fixtures.

The ``infisical_server`` fixture comes from the pytest plugin installed with the package;
nothing needs to be configured. Copy this pattern into your own test suite.
"""

from __future__ import annotations

from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient, UniversalAuth


def read_greeting(client: InfisicalClient) -> str:
    """The code under test: some application function that reads a secret."""
    return client.secrets.get("GREETING").value.upper()


def test_read_greeting(infisical_server: EmbeddedServer) -> None:
    info = infisical_server.info
    with InfisicalClient(
        site_url=info.site_url,
        project_id=info.project_id,
        environment="dev",
        auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
    ) as client:
        client.secrets.create("GREETING", "hello")
        assert read_greeting(client) == "HELLO"


def test_read_greeting_survives_a_blip(infisical_server: EmbeddedServer) -> None:
    info = infisical_server.info
    infisical_server.control.fail_next(1, status=503)  # the server blinks once
    with InfisicalClient(
        site_url=info.site_url,
        project_id=info.project_id,
        environment="dev",
        retry_delay=0.01,
        auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
    ) as client:
        client.secrets.create("GREETING", "hi")
        assert read_greeting(client) == "HI"
