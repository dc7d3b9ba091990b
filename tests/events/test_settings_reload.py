"""``InfisicalApp(reload_on_change=True)``: the web integrations follow secret changes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from infisical_async import AsyncInfisicalClient, InvalidArgumentError
from infisical_async.integrations import InfisicalApp
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client


async def until(predicate: Any, what: str, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


def settings_of(secrets: dict[str, str]) -> dict[str, int]:
    return {"port": int(secrets["PORT"])}  # "bad" fails: the old settings stay


@pytest.mark.parametrize("options", [{}, {"compat": "2024"}])
async def test_settings_follow_the_secrets(options: dict[str, Any]) -> None:
    server = EmbeddedServer(events_publish_delay=0.01, events_ping_interval=0.05, **options)
    async with server as srv:
        srv.control.seed({"PORT": "8000"}, path="/app")

        async def quick(seconds: float) -> None:
            await asyncio.sleep(min(seconds, 0.05))  # polling every 30 s, shrunk

        def client() -> AsyncInfisicalClient:
            made = make_client(srv)
            made._state.sleep = quick
            return made

        app = InfisicalApp(client, secrets_path="/app", settings=settings_of, reload_on_change=True)
        async with app.running() as state, make_client(srv) as writer:
            assert state.settings == {"port": 8000}
            await asyncio.sleep(0.2)  # the watch is running (or has its baseline)
            await writer.secrets.update("PORT", value="9000", secret_path="/app")
            await until(lambda: state.settings == {"port": 9000}, "never reloaded")
            assert state.secrets == {"PORT": "9000"} and state.reloads == 1
            await writer.secrets.update("PORT", value="bad", secret_path="/app")
            await asyncio.sleep(0.3)
            assert state.settings == {"port": 9000} and state.reloads == 1
        # The follower ended with the app (the server notices at its next ping).
        await until(lambda: srv.control.event_streams == 0, "the follower outlived the app")


def test_reload_needs_a_path() -> None:
    with pytest.raises(InvalidArgumentError, match="reload_on_change"):
        InfisicalApp(reload_on_change=True)
