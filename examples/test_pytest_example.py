"""Testing your own code against Infisical without an account, with the shipped fixtures.

The fixtures come from the pytest plugin installed with the package; nothing needs to be
configured. Copy this pattern into your own test suite.
"""

from __future__ import annotations

import pytest

from infisical_async import APIConnectionError
from infisical_async.testing import EmbeddedServer, ServerInfo
from infisical_sync import InfisicalClient


def read_greeting() -> str:
    """The code under test: an application function configured from the environment."""
    with InfisicalClient.from_env(retry_delay=0.01, max_retries=1) as client:
        return client.secrets.get("GREETING", secret_path="/app").value.upper()


def test_read_greeting(infisical_env: ServerInfo, infisical_server: EmbeddedServer) -> None:
    infisical_server.control.seed({"GREETING": "hello"}, path="/app")
    assert read_greeting() == "HELLO"


def test_read_greeting_survives_a_blip(
    infisical_env: ServerInfo, infisical_server: EmbeddedServer
) -> None:
    infisical_server.control.seed({"GREETING": "hi"}, path="/app")
    infisical_server.control.fail_next(1, status=503)  # the server blinks once
    assert read_greeting() == "HI"


def test_read_greeting_during_an_outage(
    infisical_env: ServerInfo, infisical_server: EmbeddedServer
) -> None:
    infisical_server.control.stop()  # connections refused until start()
    with pytest.raises(APIConnectionError):
        read_greeting()
    infisical_server.control.start()
    infisical_server.control.seed({"GREETING": "back"}, path="/app")
    assert read_greeting() == "BACK"
