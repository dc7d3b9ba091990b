"""pytest fixtures for testing code that uses Infisical, without an Infisical account.

Registered through the ``pytest11`` entry point, so installing the package is enough::

    def test_reads_secret(infisical_server):
        infisical_server.control.seed({"API_KEY": "k"}, path="/app")
        info = infisical_server.info          # site_url, client_id, client_secret, project_id
        infisical_server.control.fail_next(1) # faults, counters, token expiry

    def test_from_env(infisical_env):         # INFISICAL_* variables point at a server
        client = InfisicalClient.from_env()

Servers run in a background thread, so they serve async and blocking clients alike, and
``infisical_server.control`` is blocking and safe from any thread: ``restart()``,
``stop()``/``start()`` and ``sweep_leases()`` work from plain (sync) tests and fixtures.
``infisical_server`` is fresh for each test; ``infisical_module_server`` and
``infisical_session_server`` are shared, with faults, counters and a stopped listener reset
before each test that uses them (their secrets and leases stay). The compat mode
("current", "2024", ...) comes from ``@pytest.mark.infisical_compat("2024")``, then
``--infisical-compat``, then the ``infisical_compat`` ini option.

Importing this plugin is cheap: the server is only imported when a fixture is used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._server import EmbeddedServer, ServerInfo

__all__ = [
    "infisical_env",
    "infisical_module_server",
    "infisical_server",
    "infisical_server_info",
    "infisical_session_server",
]

_CREDENTIAL_VARIABLES = (
    "INFISICAL_AUTH_METHOD",
    "INFISICAL_TOKEN",
    "INFISICAL_API_URL",
    "INFISICAL_MACHINE_IDENTITY_ID",
    "INFISICAL_ORGANIZATION_SLUG",
    "INFISICAL_PROJECT_SLUG",
    "INFISICAL_SECRET_PATH",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("infisical", "embedded Infisical server")
    group.addoption(
        "--infisical-compat",
        default=None,
        help="compat mode of the embedded server fixtures (current, 2024, ...)",
    )
    parser.addini(
        "infisical_compat", "compat mode of the embedded server fixtures", default="current"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "infisical_compat(mode): the compat mode of this test's infisical_server",
    )


def _compat(request: pytest.FixtureRequest, *, per_test: bool) -> str:
    if per_test:
        marker = request.node.get_closest_marker("infisical_compat")
        if marker is not None:
            return str(marker.args[0])
    option = request.config.getoption("--infisical-compat")
    return str(option or request.config.getini("infisical_compat") or "current")


@contextlib.contextmanager
def _serve(compat: str) -> Iterator[EmbeddedServer]:
    from ._server import EmbeddedServer

    server = EmbeddedServer(compat=compat)  # type: ignore[arg-type]  # the server validates
    with server.run_in_thread():
        yield server


def _fresh_for_test(server: EmbeddedServer) -> EmbeddedServer:
    control = server.control
    control.clear_faults()
    control.reset_counts()
    if not control.listening:
        control.start()
    return server


@pytest.fixture
def infisical_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    """A fresh embedded server for one test."""
    with _serve(_compat(request, per_test=True)) as server:
        yield server


@pytest.fixture(scope="module")
def _infisical_module_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    with _serve(_compat(request, per_test=False)) as server:
        yield server


@pytest.fixture(scope="session")
def _infisical_session_server(request: pytest.FixtureRequest) -> Iterator[EmbeddedServer]:
    with _serve(_compat(request, per_test=False)) as server:
        yield server


@pytest.fixture
def infisical_module_server(_infisical_module_server: EmbeddedServer) -> EmbeddedServer:
    """One server for the module's tests; faults and counters reset before each test."""
    return _fresh_for_test(_infisical_module_server)


@pytest.fixture
def infisical_session_server(_infisical_session_server: EmbeddedServer) -> EmbeddedServer:
    """One server for the whole run; faults and counters reset before each test."""
    return _fresh_for_test(_infisical_session_server)


@pytest.fixture
def infisical_server_info(infisical_server: EmbeddedServer) -> ServerInfo:
    """Site URL, credentials and project of the ``infisical_server`` fixture."""
    return infisical_server.info


@pytest.fixture
def infisical_env(infisical_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> ServerInfo:
    """Point the ``INFISICAL_*`` variables at ``infisical_server`` (environment ``dev``), so
    ``from_env()`` and ``infisical-py`` reach it; restored after the test."""
    info = infisical_server.info
    for name in _CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INFISICAL_SITE_URL", info.site_url)
    monkeypatch.setenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", info.client_id)
    monkeypatch.setenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", info.client_secret)
    monkeypatch.setenv("INFISICAL_PROJECT_ID", info.project_id)
    monkeypatch.setenv("INFISICAL_ENVIRONMENT", "dev")
    return info
