"""Targets, clients and the printed matrix of the conformance suite.

Every test runs once per target (the embedded server in each compat mode, plus a real
server when ``INFISICAL_CONFORMANCE_*`` is set) and once per package: ``async`` drives an
``AsyncInfisicalClient`` on its own event loop, ``sync`` drives ``infisical_sync``. Both
go through the same test body (see ``Blocking``), so they are held to the same assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from infisical_async import AsyncInfisicalClient, InfisicalError, TokenAuth, UniversalAuth
from infisical_async.resources._base import AsyncResource
from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient
from infisical_sync import TokenAuth as SyncTokenAuth
from infisical_sync import UniversalAuth as SyncUniversalAuth

EMBEDDED_MODES = ("current", "2025", "2024")
ENV = "INFISICAL_CONFORMANCE_"


@dataclass(frozen=True)
class Target:
    """A server to hold the SDK to, and what the suite may do there."""

    name: str
    site_url: str
    client_id: str
    client_secret: str = field(repr=False)
    project_id: str
    environment: str
    generation: str
    """"current", "2025", "2024" for embedded servers; "real" for one found in the env."""
    embedded: EmbeddedServer | None = None
    dynamic_secret: str | None = None
    """An existing dynamic secret to lease from (real servers)."""
    dynamic_secret_path: str = "/"
    postgres_dsn: str | None = field(default=None, repr=False)
    """Where leased PostgreSQL credentials must log in."""


def real_target() -> Target | None:
    required = ("SITE_URL", "CLIENT_ID", "CLIENT_SECRET", "PROJECT_ID")
    if not all(os.environ.get(ENV + name) for name in required):
        return None
    return Target(
        name="real",
        site_url=os.environ[ENV + "SITE_URL"],
        client_id=os.environ[ENV + "CLIENT_ID"],
        client_secret=os.environ[ENV + "CLIENT_SECRET"],
        project_id=os.environ[ENV + "PROJECT_ID"],
        environment=os.environ.get(ENV + "ENVIRONMENT", "dev"),
        generation="real",
        dynamic_secret=os.environ.get(ENV + "DYNAMIC_SECRET") or None,
        dynamic_secret_path=os.environ.get(ENV + "DYNAMIC_SECRET_PATH", "/"),
        postgres_dsn=os.environ.get(ENV + "POSTGRES_DSN") or None,
    )


TARGET_NAMES = [f"embedded-{mode}" for mode in EMBEDDED_MODES] + (
    ["real"] if real_target() is not None else []
)
RUN_PREFIX = "conf" + uuid.uuid4().hex[:6]
"""Every object the suite creates starts with this (``CONF...`` for secret keys)."""


class AsyncBridge:
    """One event loop in a daemon thread, running the async client for the ``async`` runs."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="conformance-async-loop", daemon=True
        )
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


class Blocking:
    """The async client seen through a blocking lens: same calls, awaited on the bridge."""

    def __init__(self, target: Any, bridge: AsyncBridge) -> None:
        self._target = target
        self._bridge = bridge

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if isinstance(value, (AsyncResource, AsyncInfisicalClient)):
            return Blocking(value, self._bridge)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if inspect.iscoroutine(result):
                return self._bridge.run(result)
            if hasattr(result, "__aenter__"):
                return _BlockingContext(result, self._bridge)
            return result

        return call


class _BlockingContext:
    def __init__(self, manager: Any, bridge: AsyncBridge) -> None:
        self._manager = manager
        self._bridge = bridge

    def __enter__(self) -> Any:
        return self._bridge.run(self._manager.__aenter__())

    def __exit__(self, *exc: Any) -> Any:
        return self._bridge.run(self._manager.__aexit__(*exc))


@pytest.fixture(scope="session")
def async_bridge() -> Iterator[AsyncBridge]:
    bridge = AsyncBridge()
    yield bridge
    bridge.close()


@pytest.fixture(scope="session")
def targets() -> Iterator[dict[str, Target]]:
    """Embedded servers in every compat mode (in threads), and the real server if any."""
    with contextlib.ExitStack() as stack:
        found: dict[str, Target] = {}
        for mode in EMBEDDED_MODES:
            server = stack.enter_context(
                EmbeddedServer(compat=mode).run_in_thread()  # type: ignore[arg-type]
            )
            info = server.info
            found[f"embedded-{mode}"] = Target(
                name=f"embedded-{mode}",
                site_url=info.site_url,
                client_id=info.client_id,
                client_secret=info.client_secret,
                project_id=info.project_id,
                environment="dev",
                generation=mode,
                embedded=server,
            )
        real = real_target()
        if real is not None:
            found["real"] = real
        yield found


@pytest.fixture(params=TARGET_NAMES)
def target(request: pytest.FixtureRequest, targets: dict[str, Target]) -> Target:
    return targets[request.param]


@pytest.fixture(params=["async", "sync"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextlib.contextmanager
def open_client(
    target: Target, flavour: str, bridge: AsyncBridge, *, token: str | None = None
) -> Iterator[Any]:
    """A client of ``target`` with the blocking API, from either package: Universal Auth
    with the target's identity, or a ready access token."""
    options: dict[str, Any] = {
        "site_url": target.site_url,
        "project_id": target.project_id,
        "environment": target.environment,
        "max_retries": 1,
        "timeout": 30,
    }
    if flavour == "sync":
        sync_auth: Any = (
            SyncTokenAuth(token=token)
            if token
            else SyncUniversalAuth(client_id=target.client_id, client_secret=target.client_secret)
        )
        with InfisicalClient(auth=sync_auth, **options) as client:
            yield client
        return

    async def make() -> AsyncInfisicalClient:
        auth: Any = (
            TokenAuth(token=token)
            if token
            else UniversalAuth(client_id=target.client_id, client_secret=target.client_secret)
        )
        return AsyncInfisicalClient(auth=auth, **options)

    client = bridge.run(make())
    try:
        yield Blocking(client, bridge)
    finally:
        bridge.run(client.aclose())


@pytest.fixture
def sdk(target: Target, flavour: str, async_bridge: AsyncBridge) -> Iterator[Any]:
    """A client of ``target`` (Universal Auth) with the blocking API, from either package."""
    with open_client(target, flavour, async_bridge) as client:
        yield client


@pytest.fixture
def token_client(
    target: Target, flavour: str, async_bridge: AsyncBridge
) -> Callable[[str], contextlib.AbstractContextManager[Any]]:
    """Open a client of the same package that authenticates with a given access token."""

    def opener(token: str) -> contextlib.AbstractContextManager[Any]:
        return open_client(target, flavour, async_bridge, token=token)

    return opener


class Names:
    """Unique names for this run (``RUN_PREFIX``), in the forms each object accepts."""

    def __init__(self, test: str) -> None:
        self._base = f"{RUN_PREFIX}-{uuid.uuid4().hex[:4]}"
        self._test = test

    def slug(self, label: str) -> str:
        """lower-case-with-dashes (folders, KMS keys, dynamic secrets), at most 32 chars."""
        return f"{self._base}-{label}"[:32]

    def key(self, label: str) -> str:
        """UPPER_CASE (secret keys)."""
        return self.slug(label).upper().replace("-", "_")


@pytest.fixture
def names(request: pytest.FixtureRequest) -> Names:
    return Names(request.node.name)


@pytest.fixture
def cleanup(sdk: Any) -> Iterator[list[Callable[[], Any]]]:
    """Undo actions, run last-in first-out after the test whether it passed or not (while
    the client is still open)."""
    undo: list[Callable[[], Any]] = []
    yield undo
    for action in reversed(undo):
        with contextlib.suppress(InfisicalError):  # already gone is fine
            action()


# -- the matrix -----------------------------------------------------------------------------
MATRIX_KEY = pytest.StashKey[dict[tuple[str, str, str], str]]()


def operation_of(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("operation")
    return str(marker.args[0]) if marker else None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "operation(name): the public call a test holds to")
    config.stash[MATRIX_KEY] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
    operation = operation_of(item)
    callspec = getattr(item, "callspec", None)
    if operation is None or callspec is None:
        return
    key = (operation, callspec.params["target"], callspec.params["flavour"])
    matrix = item.config.stash[MATRIX_KEY]
    if hasattr(report, "wasxfail"):
        matrix[key] = "xfail"
    elif report.failed:
        matrix[key] = "FAIL" if report.when == "call" else "ERROR"
    elif report.skipped:
        matrix[key] = "skip"
    elif report.when == "call":
        matrix[key] = "pass"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    matrix = config.stash.get(MATRIX_KEY, {})
    if not matrix:
        return
    columns = [(t, f) for t in TARGET_NAMES for f in ("async", "sync")]
    columns = [c for c in columns if any((op, *c) in matrix for op, *_ in matrix)]
    operations = list(dict.fromkeys(op for op, _, _ in matrix))
    width = max(len(op) for op in operations)
    heads = [f"{t.removeprefix('embedded-')}/{f}" for t, f in columns]
    cell = max(7, *(len(h) for h in heads))
    write = terminalreporter.write_line
    terminalreporter.section("conformance matrix (operation x target x package)")
    write(" " * width + "  " + "  ".join(h.ljust(cell) for h in heads))
    totals = dict.fromkeys(("pass", "xfail", "skip", "FAIL", "ERROR"), 0)
    for op in operations:
        row = [matrix.get((op, *c), "-") for c in columns]
        for value in row:
            if value in totals:
                totals[value] += 1
        write(op.ljust(width) + "  " + "  ".join(v.ljust(cell) for v in row))
    write("  ".join(f"{k}: {v}" for k, v in totals.items()))
