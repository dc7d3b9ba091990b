"""Shared fixtures: the embedded server (both generations), clients, databases, mocks."""

from __future__ import annotations

import asyncio.base_events
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aioresponses import aioresponses

from infisical_async import AsyncInfisicalClient, UniversalAuth
from infisical_async.testing import EmbeddedServer

from . import _aioresponses_compat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from services import ensure_services  # noqa: E402


def _tolerate_a_second_server_wakeup() -> None:
    """CPython 3.13.0 (and older) fails in ``asyncio.Server._wakeup`` when a connection
    accepted just as a server closes is finalised after it (python/cpython gh-109564, fixed
    by PR 126660 in later releases). A watch reconnecting while a test's server shuts down
    hits it, and the TypeError surfaces as an unraisable exception in whichever test the
    garbage collector runs in. This adds the upstream ``None`` check; newer interpreters
    already have it, and it changes nothing there."""
    server_class = asyncio.base_events.Server
    original = server_class._wakeup

    def _wakeup(self: asyncio.base_events.Server) -> None:
        if self._waiters is not None:  # type: ignore[attr-defined]
            original(self)

    server_class._wakeup = _wakeup  # type: ignore[method-assign]


_tolerate_a_second_server_wakeup()


@pytest.fixture(params=["current", "2024"])
def compat(request: pytest.FixtureRequest) -> str:
    """Run a test against both server generations self-hosted users run."""
    return str(request.param)


@pytest.fixture
async def server(compat: str) -> AsyncIterator[EmbeddedServer]:
    async with EmbeddedServer(compat=compat) as srv:  # type: ignore[arg-type]
        yield srv


@pytest.fixture
async def current_server() -> AsyncIterator[EmbeddedServer]:
    async with EmbeddedServer() as srv:
        yield srv


def modules_loaded_after(setup: str, candidates: Iterable[str]) -> list[str]:
    """Which of ``candidates`` a fresh interpreter has loaded once it ran ``setup``."""
    code = (
        f"import json, sys\n{setup}\n"
        f"print(json.dumps([m for m in {list(candidates)!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return list(json.loads(done.stdout))


def make_client(srv: EmbeddedServer, **options: object) -> AsyncInfisicalClient:
    info = srv.info
    options.setdefault(
        "auth", UniversalAuth(client_id=info.client_id, client_secret=info.client_secret)
    )
    options.setdefault("project_id", info.project_id)
    options.setdefault("environment", "dev")
    return AsyncInfisicalClient(site_url=info.site_url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def client(server: EmbeddedServer) -> AsyncIterator[AsyncInfisicalClient]:
    async with make_client(server) as c:
        yield c


@pytest.fixture
def mock_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    """aioresponses with the aiohttp-3.14 shim (see tests/_aioresponses_compat.py)."""
    _aioresponses_compat.install(monkeypatch)
    with aioresponses() as mocked:
        yield mocked


@pytest.fixture(scope="session")
def databases() -> dict[str, str]:
    """PostgreSQL and Redis on 127.0.0.1 (started by tools/services.sh unless CI did it)."""
    return ensure_services()


ServeApp = Callable[[web.Application], Awaitable[str]]


@pytest.fixture
async def local_app() -> AsyncIterator[ServeApp]:
    """Serve any aiohttp app on loopback (a proxy, a metadata service, a broken server...);
    returns its base URL. Stopped after the test."""
    runners: list[web.AppRunner] = []

    async def serve(app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    yield serve
    for runner in runners:
        await runner.cleanup()
