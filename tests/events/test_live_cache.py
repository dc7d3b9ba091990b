"""``cache_mode="live"``: cached reads stay valid until a change event drops them."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    InvalidArgumentError,
    SecretChange,
    UniversalAuth,
    WatchResync,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client

GET_V4 = "GET /api/v4/secrets/{name}"
SUBSCRIBE = "POST /api/v1/events/subscribe/project-events"


async def served_within(read: Any, expected: str, seconds: float) -> float:
    """Seconds until ``read()`` returns ``expected`` (fails after ``seconds``)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while loop.time() - started < seconds:
        if (await read()).value == expected:
            return loop.time() - started
        await asyncio.sleep(0.005)
    raise AssertionError(f"{expected!r} not served within {seconds}s")


async def test_reads_come_from_memory_until_an_event_drops_them() -> None:
    async with EmbeddedServer(events_publish_delay=0.02, events_ping_interval=0.05) as srv:
        srv.control.seed({"DB": "one"})
        heard: list[Any] = []
        async with (
            make_client(srv, cache_ttl=300, cache_mode="live", on_change=heard.append) as reader,
            make_client(srv) as writer,
        ):
            assert (await reader.secrets.get("DB")).value == "one"
            for _ in range(300):  # the background watch connects (and drops what it missed)
                if srv.control.event_streams:
                    break
                await asyncio.sleep(0.01)
            assert (await reader.secrets.get("DB")).value == "one"
            fetched = srv.control.request_count(GET_V4)
            for _ in range(50):
                assert (await reader.secrets.get("DB")).value == "one"
            assert srv.control.request_count(GET_V4) == fetched  # all from memory

            await writer.secrets.update("DB", value="two")
            assert await served_within(lambda: reader.secrets.get("DB"), "two", 2.0) < 1.0
            # The read may have been freed by the seed's late "created" event; the update's
            # own event follows within the publish delay.
            updated = SecretChange(event="updated", environment="dev", secret_path="/", key="DB")
            for _ in range(300):
                if updated in heard:
                    break
                await asyncio.sleep(0.01)
            assert updated in heard

            # A lost stream: entries read since may have missed changes, so they go.
            srv.control.cut_event_streams()
            for _ in range(300):
                if any(isinstance(item, WatchResync) for item in heard):
                    break
                await asyncio.sleep(0.01)
            assert WatchResync(reason="reconnected") in heard
            before = srv.control.request_count(GET_V4)
            await reader.secrets.get("DB")
            assert srv.control.request_count(GET_V4) == before + 1
        # Closing the client stopped the background watch (the server notices on its
        # next ping).
        for _ in range(200):
            if srv.control.event_streams == 0:
                break
            await asyncio.sleep(0.01)
        assert srv.control.event_streams == 0


@pytest.mark.parametrize("options", [{"compat": "2024"}, {"events": "off"}])
async def test_without_events_freshness_follows_the_poll_interval(
    options: dict[str, Any],
) -> None:
    async with EmbeddedServer(**options) as srv:
        srv.control.seed({"DB": "one"})
        async with (
            make_client(srv, cache_ttl=300, cache_mode="live", live_poll_interval=0.2) as reader,
            make_client(srv) as writer,
        ):
            assert (await reader.secrets.get("DB")).value == "one"
            await asyncio.sleep(0.3)
            assert (await reader.secrets.get("DB")).value == "one"  # revalidated: 304
            assert srv.control.not_modified >= 1
            await writer.secrets.update("DB", value="two")
            waited = await served_within(lambda: reader.secrets.get("DB"), "two", 2.0)
            assert waited <= 0.3


async def test_live_mode_is_checked(current_server: EmbeddedServer) -> None:
    with pytest.raises(InvalidArgumentError, match="cache_mode"):
        make_client(current_server, cache_mode="live")
    with pytest.raises(InvalidArgumentError, match="cache_mode"):
        make_client(current_server, cache_ttl=5, cache_mode="sometimes")
    with pytest.raises(InvalidArgumentError, match="on_change"):
        make_client(current_server, cache_ttl=5, on_change=print)


async def test_a_closed_live_cache_client_is_not_kept_alive() -> None:
    client = AsyncInfisicalClient(
        site_url="http://127.0.0.1:9",
        auth=UniversalAuth(client_id="i", client_secret="s"),
        project_id="p",
        environment="dev",
        cache_ttl=60,
        cache_mode="live",
    )
    await client.aclose()
    state = weakref.ref(client._state)
    del client
    gc.collect()
    assert state() is None


async def test_a_live_cache_client_that_read_and_closed_is_not_kept_alive() -> None:
    async with EmbeddedServer(events_ping_interval=0.05) as srv:
        srv.control.seed({"DB": "one"})
        client = make_client(srv, cache_ttl=300, cache_mode="live")
        assert (await client.secrets.get("DB")).value == "one"
        for _ in range(300):  # the live cache's watch is streaming
            if srv.control.event_streams:
                break
            await asyncio.sleep(0.01)
        assert srv.control.event_streams
        await client.aclose()
        state = weakref.ref(client._state)
        del client
        await asyncio.sleep(0.05)
        gc.collect()
        assert state() is None  # nor its caches, which hold secret values
