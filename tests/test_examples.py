"""Every example keeps working, and the env-injection and settings integrations too."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from fastapi.testclient import TestClient as FastAPIClient
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from infisical_async import AsyncInfisicalClient, UniversalAuth
from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient
from infisical_sync.__main__ import main as launcher
from infisical_sync.pydantic_settings import InfisicalSettingsSource

from .client.test_dynamic_secrets import pg_provider
from .conftest import make_client
from .server.test_dynamic_routes import pg_login_works
from .sync.conftest import make_sync_client

ROOT = Path(__file__).resolve().parents[1]


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", ROOT / "examples" / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def thread_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as server:
        yield server


def env_for(server: EmbeddedServer) -> dict[str, str]:
    info = server.info
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFISICAL_")}
    env.update(
        INFISICAL_SITE_URL=info.site_url,
        INFISICAL_PROJECT_ID=info.project_id,
        INFISICAL_UNIVERSAL_AUTH_CLIENT_ID=info.client_id,
        INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET=info.client_secret,
    )
    return env


def test_demo_runs_end_to_end(databases: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("logged in to PostgreSQL as" in line for line in lines)
    assert any("can no longer log in" in line for line in lines)
    assert lines[-1] == "-> done"


def test_fastapi_app_holds_a_lease_for_its_life(
    thread_server: EmbeddedServer, databases: dict[str, str]
) -> None:
    dsn = databases["postgres"]
    with make_sync_client(thread_server) as admin:
        admin.secrets.create("GREETING", "hello from infisical")
        admin.secrets.create("DATABASE_URL", address_only(dsn))
        admin.dynamic_secrets.create("app-db", provider=pg_provider(dsn), default_ttl="1h")
    info = thread_server.info
    make = functools.partial(
        AsyncInfisicalClient,
        site_url=info.site_url,
        project_id=info.project_id,
        environment="dev",
        auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
    )
    app = load_example("fastapi_app.py").create_app(make)
    with FastAPIClient(app) as http:
        assert http.get("/greeting").json() == {"greeting": "hello from infisical"}
        user = http.get("/database-user").json()["user"]
        held = app.state.infisical.pools["db"].held
        assert user == held.credentials["DB_USERNAME"]
        password = held.credentials["DB_PASSWORD"]
        assert asyncio.run(pg_login_works(dsn, user, password))
        assert thread_server.control.active_leases == 1
    assert thread_server.control.active_leases == 0  # revoked at shutdown
    assert not asyncio.run(pg_login_works(dsn, user, password))


def address_only(dsn: str) -> str:
    """``postgresql://host:port/db`` without the admin's user and password."""
    url = urlsplit(dsn)
    return f"postgresql://{url.hostname}:{url.port}{url.path}"


async def test_aiohttp_app(current_server: EmbeddedServer) -> None:
    async with make_client(current_server) as admin:
        await admin.secrets.create("FEATURE_SEARCH", "on")
    app = load_example("aiohttp_app.py").create_app(lambda: make_client(current_server))
    async with TestClient(TestServer(app)) as http:
        assert await (await http.get("/features/search")).json() == {
            "feature": "search",
            "enabled": True,
        }
        assert await (await http.get("/features/beta")).json() == {
            "feature": "beta",
            "enabled": False,
        }


def test_sync_script_prints_names_not_values(thread_server: EmbeddedServer) -> None:
    with make_sync_client(thread_server) as admin:
        admin.secrets.create("API_KEY", "super-secret-value")
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "sync_script.py"),
            thread_server.info.project_id,
            "dev",
            "/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_for(thread_server),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "API_KEY (version 1)"
    assert "super-secret-value" not in result.stdout + result.stderr


def test_load_into_environ_keeps_existing_unless_asked(thread_server: EmbeddedServer) -> None:
    with make_sync_client(thread_server) as client:
        client.secrets.create("A", "from-infisical")
        client.secrets.create("B", "b")
        environ = {"A": "already-set"}
        assert client.secrets.load_into_environ(environ=environ) == {"B": "b"}
        assert environ == {"A": "already-set", "B": "b"}
        client.secrets.load_into_environ(environ=environ, overwrite=True)
        assert environ["A"] == "from-infisical"


def test_launcher_runs_a_command_with_secrets(
    thread_server: EmbeddedServer,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with make_sync_client(thread_server) as client:
        client.secrets.create("GREETING", "launched")
        client.secrets.create("HOME_OVERRIDE", "x")
    for key, value in env_for(thread_server).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOME_OVERRIDE", "kept")
    code = launcher(
        [
            "run",
            "--env",
            "dev",
            "--",
            sys.executable,
            "-c",
            "import os, sys; print(os.environ['GREETING'], "
            "os.environ['HOME_OVERRIDE']); sys.exit(3)",
        ]
    )
    assert code == 3  # the command's exit status is ours
    assert capfd.readouterr().out.strip() == "launched kept"
    assert (
        launcher(
            [
                "run",
                "--overwrite",
                "--",
                sys.executable,
                "-c",
                "import os; print(os.environ['HOME_OVERRIDE'])",
            ]
        )
        == 0
    )
    assert capfd.readouterr().out.strip() == "x"
    monkeypatch.setenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", "wrong")
    assert launcher(["run", "--", sys.executable, "-c", "pass"]) == 1
    assert "Invalid credentials" in capfd.readouterr().err


def test_pydantic_settings_source(thread_server: EmbeddedServer) -> None:
    with make_sync_client(thread_server) as client:
        client.secrets.create("DATABASE_URL", "postgres://db/app")
        client.secrets.create("WORKERS", "4")
        client.secrets.create("ALLOWED_HOSTS", '["a.example", "b.example"]')

        class Settings(BaseSettings):
            database_url: str
            workers: int = 1
            allowed_hosts: list[str] = []
            debug: bool = False

            @classmethod
            def settings_customise_sources(
                cls,
                settings_cls: type[BaseSettings],
                init_settings: PydanticBaseSettingsSource,
                env_settings: PydanticBaseSettingsSource,
                dotenv_settings: PydanticBaseSettingsSource,
                file_secret_settings: PydanticBaseSettingsSource,
            ) -> tuple[PydanticBaseSettingsSource, ...]:
                return (init_settings, InfisicalSettingsSource(settings_cls, client=client))

        settings = Settings()
        assert settings.database_url == "postgres://db/app"
        assert settings.workers == 4
        assert settings.allowed_hosts == ["a.example", "b.example"]
        assert settings.debug is False
        assert isinstance(client, InfisicalClient)
