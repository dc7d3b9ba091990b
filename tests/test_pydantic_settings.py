"""The pydantic-settings source: pydantic-settings' own rules, no leaked client, sync and async."""

from __future__ import annotations

import gc
import threading
import warnings
from collections.abc import Iterator

import pydantic
import pytest
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from infisical_async.errors import ConfigurationError
from infisical_async.pydantic_settings import load_settings
from infisical_async.testing import EmbeddedServer
from infisical_sync.pydantic_settings import InfisicalSettingsSource

from .conftest import make_client
from .sync.conftest import make_sync_client
from .test_examples import env_for

LOGIN = "POST /api/v1/auth/universal-auth/login"


class Database(pydantic.BaseModel):
    host: str
    port: int


def settings_class(**source_options: object) -> type[BaseSettings]:
    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")

        db: Database
        workers: int = 1
        hosts: list[str] = []
        sentry: str = pydantic.Field(
            default="", validation_alias=pydantic.AliasChoices("SENTRY_DSN", "APP_SENTRY")
        )
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
            return (
                init_settings,
                InfisicalSettingsSource(settings_cls, **source_options),  # type: ignore[arg-type]
            )

    return Settings


@pytest.fixture
def seeded() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as server:
        with make_sync_client(server) as admin:
            admin.secrets.create("APP_DB__HOST", "db.internal")
            admin.secrets.create("APP_DB__PORT", "5432")
            admin.secrets.create("app_workers", "4")  # case-insensitive by default
            admin.secrets.create("APP_HOSTS", '["a.example", "b.example"]')
            admin.secrets.create("SENTRY_DSN", "https://sentry.example/1")
            admin.secrets.create("DEBUG", "true")  # no prefix: not ours
        server.control.reset_counts()
        yield server


def check(settings: BaseSettings) -> None:
    assert settings.model_dump() == {
        "db": {"host": "db.internal", "port": 5432},
        "workers": 4,
        "hosts": ["a.example", "b.example"],
        "sentry": "https://sentry.example/1",
        "debug": False,
    }


def test_prefix_case_aliases_and_nesting_follow_pydantic_settings(seeded: EmbeddedServer) -> None:
    with make_sync_client(seeded) as client:
        settings_cls = settings_class(client=client)
        check(settings_cls())
        check(settings_cls())  # the client's token is reused: one login for both
        assert seeded.control.request_count(LOGIN) == 1
        strict = settings_class(client=client, case_sensitive=True)
        assert strict(db={"host": "h", "port": 1}).workers == 1  # app_workers is not APP_


def test_without_a_client_nothing_is_left_open(
    seeded: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env_for(seeded).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("INFISICAL_ENVIRONMENT", "dev")
    threads = threading.active_count()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        check(settings_class()())
        gc.collect()
    assert threading.active_count() == threads  # the client's loop thread is gone


async def test_async_apps_load_with_their_own_client(seeded: EmbeddedServer) -> None:
    settings_cls = settings_class()  # would read from the environment if not prefetched
    threads = threading.active_count()
    async with make_client(seeded) as client:
        check(await load_settings(settings_cls, client))
        again = await load_settings(settings_cls, client, workers=9)  # init values still win
        assert again.model_dump()["workers"] == 9
    assert threading.active_count() == threads  # no blocking client was started
    assert seeded.control.request_count(LOGIN) == 1


def test_prefetched_secrets_make_no_request(seeded: EmbeddedServer) -> None:
    secrets = {"APP_DB__HOST": "x", "APP_DB__PORT": "1"}
    settings = settings_class(secrets=secrets)()
    assert settings.model_dump()["db"] == {"host": "x", "port": 1}
    assert seeded.control.requests == {}


async def test_a_secret_that_fails_validation_is_named_not_quoted(seeded: EmbeddedServer) -> None:
    with make_sync_client(seeded) as admin:
        admin.secrets.update("APP_DB__PORT", value="hunter2-not-a-port")
    async with make_client(seeded) as client:
        with pytest.raises(ConfigurationError) as caught:
            await load_settings(settings_class(), client)
    assert "db.port" in str(caught.value)
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert "hunter2" not in str(caught.value) and "hunter2" not in repr(caught.value)
