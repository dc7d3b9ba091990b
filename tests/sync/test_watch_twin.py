"""The blocking twin of ``secrets.watch()``: a plain generator driven on the client's loop."""

from __future__ import annotations

import gc
import inspect
import threading
import time
from collections.abc import Iterator

import pytest

from infisical_async import InvalidArgumentError, SecretChange
from infisical_async.testing import EmbeddedServer

from .conftest import make_sync_client


@pytest.fixture
def events_server() -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(events_publish_delay=0.01, events_ping_interval=0.05)
    with server.run_in_thread() as srv:
        yield srv


def wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.01)
    raise AssertionError(what)


def test_the_twin_is_a_generator_of_changes(events_server: EmbeddedServer) -> None:
    with make_sync_client(events_server) as client, make_sync_client(events_server) as writer:
        changes = client.secrets.watch()
        assert inspect.isgenerator(changes)
        writes = threading.Thread(
            target=lambda: (
                wait_for(lambda: events_server.control.event_streams == 1, "no stream"),
                writer.secrets.create("FROM_THREAD", "1"),
            )
        )
        writes.start()
        first = next(changes)
        writes.join()
        assert first == SecretChange(
            event="created", environment="dev", secret_path="/", key="FROM_THREAD"
        )
        changes.close()  # closes the async watch on the loop: the stream goes away
        wait_for(lambda: events_server.control.event_streams == 0, "stream left open")


def test_a_forgotten_twin_is_closed_when_collected(events_server: EmbeddedServer) -> None:
    with make_sync_client(events_server) as client, make_sync_client(events_server) as writer:
        changes = client.secrets.watch()
        threading.Timer(0.3, lambda: writer.secrets.create("ONE", "1")).start()
        assert next(changes).key == "ONE"  # type: ignore[union-attr]
        assert events_server.control.event_streams == 1
        del changes
        gc.collect()
        wait_for(lambda: events_server.control.event_streams == 0, "stream left open")


def test_closing_the_client_ends_the_iteration(events_server: EmbeddedServer) -> None:
    client = make_sync_client(events_server)
    seen: list[object] = []
    ended = threading.Event()

    def consume() -> None:
        seen.extend(client.secrets.watch())
        ended.set()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    wait_for(lambda: events_server.control.event_streams == 1, "no stream")
    client.close()
    assert ended.wait(5)
    assert seen == []
    reader.join(5)


def test_argument_errors_come_at_the_call(events_server: EmbeddedServer) -> None:
    with (
        make_sync_client(events_server) as client,
        pytest.raises(InvalidArgumentError, match="heartbeat_timeout"),
    ):
        client.secrets.watch(heartbeat_timeout=-1)


def test_the_blocking_client_keeps_a_live_cache(events_server: EmbeddedServer) -> None:
    events_server.control.seed({"DB": "one"})
    heard: list[object] = []
    client = make_sync_client(
        events_server, cache_ttl=300, cache_mode="live", on_change=heard.append
    )
    with client, make_sync_client(events_server) as writer:
        assert client.secrets.get("DB").value == "one"
        wait_for(lambda: events_server.control.event_streams == 1, "no stream")
        writer.secrets.update("DB", value="two")
        wait_for(lambda: client.secrets.get("DB").value == "two", "never fresh")
        # on_change runs after the cache dropped the entry (a callback reading gets news).
        wait_for(
            lambda: any(isinstance(i, SecretChange) and i.key == "DB" for i in heard),
            "on_change not called",
        )
    wait_for(lambda: events_server.control.event_streams == 0, "the live watch outlived close")
