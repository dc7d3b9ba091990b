"""``client.secrets.watch()`` over real loopback HTTP against the embedded server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    InvalidArgumentError,
    PermissionDeniedError,
    SecretChange,
    WatchResync,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client

SUBSCRIBE = "POST /api/v1/events/subscribe/project-events"


class FakeSleep:
    """Records what the watch asked to wait, and waits only a moment."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0.01)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.asynccontextmanager
async def watching(
    client: AsyncInfisicalClient, **options: Any
) -> AsyncIterator[tuple[asyncio.Queue[Any], asyncio.Task[None]]]:
    """Run a watch in a task that puts its items (and its end, or error) on a queue."""
    items: asyncio.Queue[Any] = asyncio.Queue()

    async def consume() -> None:
        try:
            async for item in client.secrets.watch(**options):
                await items.put(item)
            await items.put("END")
        except Exception as exc:
            await items.put(exc)

    task = asyncio.create_task(consume())
    try:
        yield items, task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def next_item(items: asyncio.Queue[Any], timeout: float = 3.0) -> Any:
    return await asyncio.wait_for(items.get(), timeout)


async def until_streams(server: EmbeddedServer, count: int = 1) -> None:
    for _ in range(300):
        if server.control.event_streams >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} event stream(s) never connected")


def change(event: str, key: str | None, path: str = "/", env: str = "dev") -> SecretChange:
    return SecretChange(event=event, environment=env, secret_path=path, key=key)  # type: ignore[arg-type]


@pytest.fixture
async def events_server() -> AsyncIterator[EmbeddedServer]:
    async with EmbeddedServer(events_publish_delay=0.01, events_ping_interval=0.05) as srv:
        yield srv


async def test_changes_by_another_client_arrive_as_typed_items(
    events_server: EmbeddedServer,
) -> None:
    events_server.control.seed({}, folders=["/app/db", "/other"])
    events_server.control.seed({}, environment="staging", folders=["/app"])
    async with (
        make_client(events_server) as watcher,
        make_client(events_server) as writer,
        watching(watcher, secret_path="/app") as (items, _),
    ):
        await until_streams(events_server)
        await writer.secrets.create("A", "1", secret_path="/app")
        assert await next_item(items) == change("created", "A", "/app")
        await writer.secrets.update("A", value="2", secret_path="/app")
        assert await next_item(items) == change("updated", "A", "/app")
        # Out of scope: another folder and another environment are not heard.
        await writer.secrets.create("X", "1", secret_path="/other")
        await writer.secrets.create("Y", "1", environment="staging", secret_path="/app")
        # A sub-folder is (recursive by default); a bulk write is one item per key.
        await writer.secrets.batch_create({"B": "1", "C": "2"}, secret_path="/app/db")
        assert await next_item(items) == change("created", "B", "/app/db")
        assert await next_item(items) == change("created", "C", "/app/db")
        await writer.secrets.delete("A", secret_path="/app")
        assert await next_item(items) == change("deleted", "A", "/app")
        assert items.empty()


async def test_not_recursive_follows_the_folder_alone(events_server: EmbeddedServer) -> None:
    events_server.control.seed({}, folders=["/sub"])
    async with (
        make_client(events_server) as client,
        watching(client, recursive=False, events=["created"]) as (items, _),
    ):
        await until_streams(events_server)
        await client.secrets.create("DEEP", "1", secret_path="/sub")
        await client.secrets.create("TOP", "1")
        await client.secrets.delete("TOP")  # not followed: events=["created"]
        await client.secrets.create("TOP2", "1")
        assert await next_item(items) == change("created", "TOP")
        assert await next_item(items) == change("created", "TOP2")


async def test_import_mutation_has_no_key(events_server: EmbeddedServer) -> None:
    events_server.control.seed({"S": "1"}, path="/shared")
    async with (
        make_client(events_server) as client,
        watching(client, secret_path="/app", events=["imports_changed"]) as (items, _),
    ):
        await until_streams(events_server)
        events_server.control.seed({}, folders=["/app"])
        await client._request(
            "POST",
            "/api/v1/secret-imports",
            json={
                "projectId": client.project_id,
                "environment": "dev",
                "path": "/app",
                "import": {"environment": "dev", "path": "/shared"},
            },
            mode=__import__("infisical_async._retry", fromlist=["RetryMode"]).RetryMode.WRITE,
        )
        assert await next_item(items) == change("imports_changed", None, "/app")
        # A change in the imported folder reaches its importer too.
        await client.secrets.update("S", value="2", secret_path="/shared")
        assert await next_item(items) == change("imports_changed", None, "/app")


async def test_pings_keep_a_quiet_stream_and_silence_reconnects() -> None:
    async with EmbeddedServer(events_ping_interval=0.05) as srv, make_client(srv) as client:
        client._state.sleep = FakeSleep()
        async with watching(client, heartbeat_timeout=0.3) as (items, _):
            await until_streams(srv)
            await asyncio.sleep(0.8)  # quiet, but pinged: still the first connection
            assert srv.control.request_count(SUBSCRIBE) == 1
            assert items.empty()
    async with (
        EmbeddedServer(events_ping_interval=30) as srv,  # no pings: the watchdog acts
        make_client(srv) as client,
    ):
        sleep = FakeSleep()
        client._state.sleep = sleep
        async with watching(client, heartbeat_timeout=0.2) as (items, _):
            await until_streams(srv)
            assert await next_item(items) == WatchResync(reason="reconnected")
            assert srv.control.request_count(SUBSCRIBE) >= 2
            assert sleep.delays and sleep.delays[0] <= 1.5


async def test_a_subscription_the_server_never_answers_is_given_up_and_retried() -> None:
    async with EmbeddedServer(events_ping_interval=0.05) as srv, make_client(srv) as client:
        sleep = FakeSleep()
        client._state.sleep = sleep
        # The server takes the first subscription and says nothing for 5 s.
        srv.control.delay_next(1, seconds=5, path="^/api/v1/events/subscribe", method="POST")
        async with watching(client, heartbeat_timeout=0.3) as (items, _):
            await until_streams(srv)  # the retry connected, well within those 5 s
            assert srv.control.request_count(SUBSCRIBE) == 2
            assert len(sleep.delays) == 1  # one backoff, after the unanswered request
            assert items.empty()


async def test_reconnects_after_a_cut_and_an_outage_with_a_resync_marker(
    events_server: EmbeddedServer,
) -> None:
    srv = events_server
    async with make_client(srv) as client, make_client(srv) as writer:
        sleep = FakeSleep()
        client._state.sleep = sleep
        async with watching(client) as (items, _):
            await until_streams(srv)
            assert srv.control.cut_event_streams() == 1
            assert await next_item(items) == WatchResync(reason="reconnected")
            await until_streams(srv)
            await writer.secrets.create("AFTER_CUT", "1")
            assert await next_item(items) == change("created", "AFTER_CUT")

            # The server goes away for a while: connection refused, again and again.
            await srv.stop_listening()
            srv.control.cut_event_streams()
            for _ in range(300):
                if len(sleep.delays) >= 6:
                    break
                await asyncio.sleep(0.01)
            await srv.resume_listening()
            assert await next_item(items) == WatchResync(reason="reconnected")
            await until_streams(srv)
            await writer.secrets.create("AFTER_OUTAGE", "1")
            assert await next_item(items) == change("created", "AFTER_OUTAGE")
    # Backoff: doubling from 1 s with jitter of at most half, capped at 60 s.
    tail = sleep.delays[1:7]
    for attempt, delay in enumerate(tail, start=2):
        base = min(60.0, 2.0 ** (attempt - 1))
        assert base <= delay <= min(60.0, base * 1.5)


async def test_backoff_resets_after_a_healthy_period(events_server: EmbeddedServer) -> None:
    srv = events_server
    async with make_client(srv) as client:
        sleep, clock = FakeSleep(), Clock()
        client._state.sleep, client._state.clock = sleep, clock
        async with watching(client) as (items, _):
            for _ in range(3):  # short-lived connections: the backoff grows
                await until_streams(srv)
                srv.control.cut_event_streams()
                assert await next_item(items) == WatchResync(reason="reconnected")
            await until_streams(srv)
            clock.now += 31  # this one stayed up for the healthy period
            srv.control.cut_event_streams()
            assert await next_item(items) == WatchResync(reason="reconnected")
    assert sleep.delays[2] >= 4.0  # third failure in a row
    assert sleep.delays[3] <= 1.5  # back to the first step


async def test_max_duration_cut_reconnects(events_server: EmbeddedServer) -> None:
    async with (
        EmbeddedServer(events_max_duration=0.2, events_ping_interval=0.05) as srv,
        make_client(srv) as client,
    ):
        client._state.sleep = FakeSleep()
        async with watching(client) as (items, _):
            assert await next_item(items) == WatchResync(reason="reconnected")
            assert await next_item(items) == WatchResync(reason="reconnected")


async def test_a_refused_token_gets_one_new_login(events_server: EmbeddedServer) -> None:
    srv = events_server
    async with make_client(srv) as client, make_client(srv) as writer:
        client._state.sleep = FakeSleep()
        async with watching(client) as (items, _):
            await until_streams(srv)
            logins = srv.control.request_count("POST /api/v1/auth/universal-auth/login")
            srv.control.expire_all_tokens()
            srv.control.cut_event_streams()
            assert await next_item(items) == WatchResync(reason="reconnected")
            assert srv.control.request_count("POST /api/v1/auth/universal-auth/login") > logins
            await until_streams(srv)
            await writer.secrets.create("AFTER_LOGIN", "1")
            assert await next_item(items) == change("created", "AFTER_LOGIN")


async def test_a_lost_permission_raises_after_one_new_login(
    events_server: EmbeddedServer,
) -> None:
    srv = events_server
    async with make_client(srv) as client:
        client._state.sleep = FakeSleep()
        async with watching(client) as (items, _):
            await until_streams(srv)
            srv.control.revoke_event_permission()  # error frame, end, then 403s
            error = await next_item(items)
            assert isinstance(error, PermissionDeniedError)
            assert "subscribe-on-created" in str(error)
            assert srv.control.request_count(SUBSCRIBE) == 3  # first, after end, after login


@pytest.mark.parametrize("variant", ["2024", "events-off"])
async def test_servers_without_events_are_polled_with_the_same_items(variant: str) -> None:
    options: dict[str, Any] = {"compat": "2024"} if variant == "2024" else {"events": "off"}
    async with EmbeddedServer(**options) as srv:
        srv.control.seed({"KEEP": "1", "GONE": "1"}, path="/app")
        async with make_client(srv) as client, make_client(srv) as writer:
            sleep = FakeSleep()
            client._state.sleep = sleep
            async with watching(client, secret_path="/app", poll_interval=5) as (items, _):
                for _ in range(300):  # the first listing is the baseline
                    if srv.control.request_count("GET /api/v3/secrets/raw") + (
                        srv.control.request_count("GET /api/v4/secrets")
                    ):
                        break
                    await asyncio.sleep(0.01)
                assert await next_item(items) == WatchResync(reason="polling")
                await asyncio.sleep(0.1)
                refused = srv.control.request_count("POST unmatched")  # the route-404
                await writer.secrets.create("NEW", "1", secret_path="/app")
                await writer.secrets.update("KEEP", value="2", secret_path="/app")
                await writer.secrets.delete("GONE", secret_path="/app")
                got = {await next_item(items) for _ in range(3)}
                assert got == {
                    change("created", "NEW", "/app"),
                    change("updated", "KEEP", "/app"),
                    change("deleted", "GONE", "/app"),
                }
                await asyncio.sleep(0.1)
                assert srv.control.not_modified > 0  # unchanged listings cost no body
            assert set(sleep.delays) == {5}
            # It asked for events once, learned there are none, and never asked again.
            assert srv.control.request_count(SUBSCRIBE) == (0 if variant == "2024" else 1)
            if variant == "2024":
                assert refused == 1


async def test_closing_the_client_ends_the_watch(events_server: EmbeddedServer) -> None:
    client = make_client(events_server)
    async with watching(client) as (items, task):
        await until_streams(events_server)
        before = asyncio.all_tasks()
        await client.aclose()
        assert await next_item(items) == "END"
        await task
        assert asyncio.all_tasks() <= before
    # A watch started on a closed client ends at once.
    assert [item async for item in client.secrets.watch()] == []


async def test_closing_the_client_ends_a_polling_watch() -> None:
    async with EmbeddedServer(compat="2024") as srv:
        client = make_client(srv)
        async with watching(client, poll_interval=60) as (items, _):
            for _ in range(300):
                if srv.control.request_count("GET /api/v3/secrets/raw"):
                    break
                await asyncio.sleep(0.01)
            assert await next_item(items) == WatchResync(reason="polling")
            await client.aclose()  # while it waits 60 s for the next poll
            assert await next_item(items, timeout=2) == "END"


async def test_bad_arguments_are_named(events_server: EmbeddedServer) -> None:
    async with make_client(events_server) as client:
        with pytest.raises(InvalidArgumentError, match="events"):
            client.secrets.watch(events=["renamed"])  # type: ignore[list-item]
        with pytest.raises(InvalidArgumentError, match="poll_interval"):
            client.secrets.watch(poll_interval=0)
        with pytest.raises(InvalidArgumentError, match="secret_path"):
            client.secrets.watch(secret_path="app")


async def test_a_full_project_is_retried_with_growing_backoff() -> None:
    async with (
        EmbeddedServer(events_max_connections=0) as srv,
        make_client(srv) as client,
    ):
        sleep = FakeSleep()
        client._state.sleep = sleep
        async with watching(client) as (items, _):
            for _ in range(300):
                if len(sleep.delays) >= 4:
                    break
                await asyncio.sleep(0.01)
            assert items.empty()  # 429s are waited out, never raised
        assert srv.control.request_count(SUBSCRIBE) >= 4
        assert sleep.delays[0] < sleep.delays[2] < sleep.delays[3]


async def test_no_token_reaches_the_logs(
    events_server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    async with make_client(events_server) as client:
        client._state.sleep = FakeSleep()
        async with watching(client) as (items, _):
            await until_streams(events_server)
            token = client._state.tokens.current_token
            assert token
            events_server.control.expire_all_tokens()
            events_server.control.cut_event_streams()
            assert await next_item(items) == WatchResync(reason="reconnected")
            new_token = client._state.tokens.current_token
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "reconnecting" in text or "logging in again" in text
    assert token not in text and str(new_token) not in text
