"""The FastAPI integration in process: lifespan, Depends providers, settings, errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from infisical_async import AsyncInfisicalClient
from infisical_async.integrations.fastapi import Infisical
from infisical_async.pydantic_settings import InfisicalSettingsSource
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client
from ..sync.conftest import make_sync_client


@pytest.fixture
def thread_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as server:
        yield server


@attrs.frozen
class Settings:
    greeting: str
    workers: int


def test_depends_providers_and_settings(thread_server: EmbeddedServer) -> None:
    with make_sync_client(thread_server) as admin:
        admin.secrets.create("GREETING", "hi", secret_path="/")
        admin.secrets.create("WORKERS", "3", secret_path="/")
    clients: list[AsyncInfisicalClient] = []

    def make() -> AsyncInfisicalClient:
        clients.append(make_client(thread_server))
        return clients[-1]

    infisical = Infisical(
        make,
        secrets_path="/",
        settings=lambda s: Settings(greeting=s["GREETING"], workers=int(s["WORKERS"])),
    )
    app = FastAPI(lifespan=infisical.lifespan)

    @app.get("/config")
    async def config(
        settings: Settings = Depends(infisical.settings),
        secrets: dict[str, str] = Depends(infisical.secrets),
        client: Any = Depends(infisical.client),
    ) -> dict[str, Any]:
        value = (await client.secrets.get("GREETING")).value
        return {"workers": settings.workers, "names": sorted(secrets), "live": value}

    app.add_api_route("/healthz", infisical.healthz)
    with TestClient(app) as http:
        assert http.get("/config").json() == {
            "workers": 3,
            "names": ["GREETING", "WORKERS"],
            "live": "hi",
        }
        assert http.get("/healthz").json()["status"] == "ok"
        assert len(clients) == 1 and not clients[0].closed  # one client for the app's life
    assert clients[0].closed  # closed at shutdown


def test_a_missing_lifespan_is_named() -> None:
    infisical = Infisical(lambda: AsyncInfisicalClient(site_url="http://127.0.0.1:9"))
    app = FastAPI()  # lifespan forgotten

    @app.get("/x")
    async def x(client: Any = Depends(infisical.client)) -> None:
        raise AssertionError("unreachable")

    with (
        TestClient(app, raise_server_exceptions=True) as http,
        pytest.raises(RuntimeError, match=r"lifespan=infisical\.lifespan"),
    ):
        http.get("/x")


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_")
    workers: int
    greeting: str = "none"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, InfisicalSettingsSource(settings_cls))


def test_a_pydantic_settings_class_reads_the_loaded_secrets(thread_server: EmbeddedServer) -> None:
    thread_server.control.seed({"APP_WORKERS": "5", "GREETING": "not prefixed"}, path="/svc")
    infisical = Infisical(
        lambda: make_client(thread_server), secrets_path="/svc", settings=AppSettings
    )
    app = FastAPI(lifespan=infisical.lifespan)

    @app.get("/settings")
    async def settings(settings: AppSettings = Depends(infisical.settings)) -> dict[str, Any]:
        return settings.model_dump()

    thread_server.control.reset_counts()
    with TestClient(app) as http:
        assert http.get("/settings").json() == {"workers": 5, "greeting": "none"}
    # one list at startup; the settings class did not fetch again (nor log in from env)
    assert thread_server.control.request_count("GET /api/v4/secrets") == 1
