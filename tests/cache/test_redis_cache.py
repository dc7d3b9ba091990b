"""RedisCache against the real redis-server the suite starts: encryption at rest,
single flight across clients and processes, pub/sub invalidation, outages, namespacing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as redis_asyncio

from infisical_async import InvalidArgumentError, TokenAuth
from infisical_async.cache import CachedAnswer, CacheLookup, EntryKey, RedisCache
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client

GET = "GET /api/v4/secrets/{name}"
LIST = "GET /api/v4/secrets"
SECRET = "a fleet-wide secret of 32 bytes!"


@pytest.fixture
def redis_url(databases: dict[str, str]) -> str:
    return databases["redis"]


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """Every test in its own key space and channel on the shared redis-server, deleted
    afterwards (generations never expire by themselves)."""
    name = "t" + secrets.token_hex(6)
    yield name
    connection = redis.Redis.from_url(redis_url)
    try:
        keys = list(connection.scan_iter(f"{name}:*"))
        if keys:
            connection.delete(*keys)
    finally:
        connection.close()


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[redis_asyncio.Redis]:
    connection = redis_asyncio.Redis.from_url(redis_url)
    yield connection
    await connection.aclose()


@pytest.fixture
def shared(redis_url: str, prefix: str) -> Callable[..., RedisCache]:
    def make(**options: Any) -> RedisCache:
        options.setdefault("secret", SECRET)
        options.setdefault("prefix", prefix)
        return RedisCache(redis_url, **options)

    return make


def test_refuses_to_exist_without_a_secret(redis_url: str) -> None:
    for bad in ("", "short", b"15 bytes only!!"[:15]):
        with pytest.raises(InvalidArgumentError) as caught:
            RedisCache(redis_url, secret=bad)
        assert caught.value.argument == "secret"
    with pytest.raises(TypeError):
        RedisCache(redis_url)  # type: ignore[call-arg]
    with pytest.raises(InvalidArgumentError) as caught:
        RedisCache("http://127.0.0.1:6379", secret=SECRET)
    assert caught.value.argument == "url"
    with pytest.raises(InvalidArgumentError) as caught:
        RedisCache(redis_url, secret=SECRET, ttl=0)
    assert caught.value.argument == "ttl"


def test_repr_hides_the_url_password() -> None:
    text = repr(RedisCache("redis://user:hunter2-password@cache:6379/0", secret=SECRET))
    assert "hunter2" not in text and "cache:6379" in text


async def test_a_second_client_reads_what_the_first_fetched_and_nothing_is_plaintext(
    current_server: EmbeddedServer,
    shared: Callable[..., RedisCache],
    raw: redis_asyncio.Redis,
    prefix: str,
) -> None:
    server = current_server
    canary = "plaintext-canary-" + secrets.token_hex(8)
    async with (
        make_client(server, cache=shared()) as first,
        make_client(server, cache=shared()) as second,
    ):
        await first.secrets.create("DATABASE_URL", canary)
        assert (await first.secrets.get("DATABASE_URL")).value == canary
        assert (await first.secrets.list()).to_dict() == {"DATABASE_URL": canary}
        assert server.control.request_count(GET) == 1
        assert server.control.request_count(LIST) == 1
        # Another process (its own RedisCache, no memory cache): served from Redis.
        assert (await second.secrets.get("DATABASE_URL")).value == canary
        assert (await second.secrets.list()).get("DATABASE_URL") is not None
        assert server.control.request_count(GET) == 1
        assert server.control.request_count(LIST) == 1

    keys = [k async for k in raw.scan_iter(f"{prefix}:*")]
    entries = [k for k in keys if not k.endswith(b":gen")]
    assert len(entries) == 2
    info = server.info
    clear = [canary, "DATABASE_URL", info.project_id, info.client_id, info.site_url]
    for key in keys:
        assert not any(word.encode() in key for word in clear)
    for key in entries:
        value = await raw.get(key)
        assert value is not None and len(value) > len(canary)
        assert not any(word.encode() in value for word in clear)
        ttl = await raw.pttl(key)
        assert 0 < ttl <= 60_000


async def test_an_entry_from_another_secret_or_another_key_is_a_miss_not_a_crash(
    current_server: EmbeddedServer,
    shared: Callable[..., RedisCache],
    raw: redis_asyncio.Redis,
    prefix: str,
) -> None:
    server = current_server
    mine = shared()
    theirs = shared(secret="another fleet's secret, 32 bytes")
    async with make_client(server, cache=mine) as client:
        await client.secrets.create("A", "value-a")
        await client.secrets.create("B", "value-b")
        await client.secrets.get("A")
        await client.secrets.get("B")
    assert server.control.request_count(GET) == 2
    entry = EntryKey(server.info.site_url, "never-written", "who", "read")
    await mine.put(entry, CachedAnswer({"x": 1}), ttl=60, stamp="0")
    # Their entry name for the same read, holding our ciphertext: the key does not open it.
    name = theirs._entry_name(entry, "0")
    await raw.set(name, await raw.get(mine._entry_name(entry, "0")))  # type: ignore[arg-type]
    assert (await theirs.get(entry)).answer is None
    await raw.set(name, b"\x01garbage that is long enough to look like an entry")
    assert (await theirs.get(entry)).answer is None
    # Swapped under our own key: entry A's ciphertext stored as entry B's does not open.
    other = EntryKey(server.info.site_url, "never-written", "who", "another read")
    await raw.set(mine._entry_name(other, "0"), await raw.get(mine._entry_name(entry, "0")))  # type: ignore[arg-type]
    assert (await mine.get(other)).answer is None
    assert (await mine.get(entry)).answer == CachedAnswer({"x": 1})
    # A client whose Redis holds undecryptable entries still reads, from the server.
    async with make_client(server, cache=shared()) as client:
        entries = [k async for k in raw.scan_iter(f"{prefix}:*") if not k.endswith(b":gen")]
        for key in entries:
            await raw.set(key, b"\x01" + os.urandom(40))
        assert (await client.secrets.get("A")).value == "value-a"
    assert server.control.request_count(GET) == 3
    await mine.aclose()
    await theirs.aclose()


async def test_a_fleet_of_clients_fetches_each_entry_once(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    clients = [make_client(server, cache=shared()) for _ in range(20)]
    try:
        await clients[0].secrets.create("X", "value")
        server.control.delay_next(1, seconds=0.3, path="^/api/v4/secrets/X$", method="GET")
        results = await asyncio.gather(*(c.secrets.get("X") for c in clients))
        assert {r.value for r in results} == {"value"}
        assert server.control.request_count(GET) == 1
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def test_waiters_fetch_themselves_when_the_lock_holder_is_gone(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    cache = shared(lock_ttl=0.3, wait=5.0)
    async with make_client(server, cache=cache) as client:
        await client.secrets.create("X", "value")
        key = client.secrets._get_key("X", None, None, None, None, "shared", True, True, True)
        entry = EntryKey(
            client.site_url,
            server.info.project_id,
            client._state.shared_cache._identity,
            _request(key),
        )  # type: ignore[union-attr]
        lookup = await cache.get(entry)
        held = await cache.lock(entry, stamp=lookup.stamp)  # a process that then died
        assert held is not None
        started = time.monotonic()
        assert (await client.secrets.get("X")).value == "value"
        waited = time.monotonic() - started
        assert 0.2 <= waited < 2.0  # until the lock expired, not the whole wait
        assert server.control.request_count(GET) == 1


def _request(key: tuple[Any, ...]) -> str:
    return json.dumps(key, separators=(",", ":"), default=str)


async def test_waiting_is_bounded_by_the_calls_deadline(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    cache = shared(lock_ttl=30, wait=30)
    async with make_client(server, cache=cache, timeout=1.0) as client:
        await client.secrets.create("X", "value")
        key = client.secrets._get_key("X", None, None, None, None, "shared", True, True, True)
        assert client._state.shared_cache is not None
        entry = EntryKey(
            client.site_url,
            server.info.project_id,
            client._state.shared_cache._identity,
            _request(key),
        )
        assert await cache.lock(entry, stamp=(await cache.get(entry)).stamp) is not None
        started = time.monotonic()
        assert (await client.secrets.get("X")).value == "value"
        assert time.monotonic() - started < 0.9  # half the deadline waited, then fetched


async def test_a_write_in_one_process_drops_every_processs_copies(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    async with (
        make_client(server, cache=shared(), cache_ttl=60) as writer,
        make_client(server, cache=shared(), cache_ttl=60) as reader,
    ):
        await writer.secrets.create("X", "old")
        assert (await reader.secrets.get("X")).value == "old"
        assert (await writer.secrets.get("X")).value == "old"
        await writer.secrets.update("X", value="new")
        # The reader's memory is dropped by the broadcast, not by its TTL (60 s).
        assert await _eventually(lambda: reader.secrets._cached_get("X") is None)
        assert (await reader.secrets.get("X")).value == "new"


async def test_the_invalidation_hook_serves_change_events_and_other_tools(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    hook = shared()
    async with (
        make_client(server, cache=shared(), cache_ttl=60) as reader,
        make_client(server) as outsider,
    ):
        await outsider.secrets.create("X", "old")
        assert (await reader.secrets.get("X")).value == "old"
        await outsider.secrets.update("X", value="new")  # no shared cache: nobody told
        assert (await reader.secrets.get("X")).value == "old"
        await hook.invalidate_project(reader.site_url, server.info.project_id)
        assert await _eventually(lambda: reader.secrets._cached_get("X") is None)
        assert (await reader.secrets.get("X")).value == "new"
    await hook.aclose()


async def test_a_read_that_began_before_a_write_never_lands_after_it(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    async with (
        make_client(server, cache=shared()) as slow,
        make_client(server, cache=shared()) as writer,
        make_client(server, cache=shared()) as late,
    ):
        await writer.secrets.create("X", "old")
        server.control.delay_next(1, seconds=0.4, path="^/api/v4/secrets/X$", method="GET")
        first = asyncio.ensure_future(slow.secrets.get("X"))
        await asyncio.sleep(0.1)  # the server has read "old" and holds the answer
        await writer.secrets.update("X", value="new")
        assert (await first).value in ("old", "new")
        assert (await late.secrets.get("X")).value == "new"


async def test_entries_are_namespaced_by_site_project_and_identity(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server
    cache = shared()
    base = EntryKey("https://a.example", "project-1", "universal-auth:one", "read")
    await cache.put(base, CachedAnswer({"v": 1}), ttl=60, stamp="0")
    assert (await cache.get(base)).answer == CachedAnswer({"v": 1})
    for other in (
        EntryKey("https://b.example", "project-1", "universal-auth:one", "read"),
        EntryKey("https://a.example", "project-2", "universal-auth:one", "read"),
        EntryKey("https://a.example", "project-1", "universal-auth:two", "read"),
        EntryKey("https://a.example", "project-1", "universal-auth:one", "read 2"),
    ):
        assert (await cache.get(other)).answer is None
    await cache.aclose()
    # Another identity (here a ready token) never reads the first one's entries.
    async with make_client(server, cache=shared()) as first:
        await first.secrets.create("X", "value")
        await first.secrets.get("X")
        token = server.control.create_access_token()
        async with make_client(server, cache=shared(), auth=TokenAuth(token=token)) as second:
            assert (await second.secrets.get("X")).value == "value"
            assert second._state.shared_cache is not None and token not in repr(
                second._state.shared_cache.__dict__
            )
    assert server.control.request_count(GET) == 2


async def test_reads_go_on_when_redis_is_down(
    current_server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = current_server
    caplog.set_level(logging.WARNING, logger="infisical_async.cache")
    down = RedisCache("redis://127.0.0.1:1/0", secret=SECRET, retry_after=0.05)
    async with make_client(server, cache=down) as client:
        await client.secrets.create("X", "value-that-must-not-be-logged")
        for _ in range(5):
            assert (await client.secrets.get("X")).value == "value-that-must-not-be-logged"
            await asyncio.sleep(0.06)  # past retry_after: Redis is tried again each time
        await client.secrets.update("X", value="v2")  # a write with Redis down
        assert (await client.secrets.get("X")).value == "v2"
    warnings = [r for r in caplog.records if r.name == "infisical_async.cache"]
    assert len(warnings) == 1  # once per outage
    assert "must-not-be-logged" not in caplog.text and "X" not in warnings[0].getMessage()


async def test_a_redis_that_hangs_costs_a_bounded_delay(current_server: EmbeddedServer) -> None:
    server = current_server
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accept, read nothing, answer nothing

    hang = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = hang.sockets[0].getsockname()[1]
    try:
        cache = RedisCache(f"redis://127.0.0.1:{port}/0", secret=SECRET, op_timeout=0.1)
        async with make_client(server, cache=cache) as client:
            await client.secrets.create("X", "value")
            started = time.monotonic()
            assert (await client.secrets.get("X")).value == "value"
            assert (await client.secrets.get("X")).value == "value"
            assert time.monotonic() - started < 1.5
    finally:
        for writer in accepted:
            writer.close()
        hang.close()
        await hang.wait_closed()


async def test_closing_the_clients_leaves_no_task_and_no_connection(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache], raw: redis_asyncio.Redis
) -> None:
    server = current_server
    before = asyncio.all_tasks()
    cache = shared()
    # Two clients on one cache: the listener lives until the last one closes.
    first = make_client(server, cache=cache, cache_ttl=60)
    second = make_client(server, cache=cache, cache_ttl=60)
    assert cache._listener_task is None  # nothing starts before the first use
    await first.secrets.create("X", "value")
    await first.secrets.get("X")
    assert cache._listener_task is not None and not cache._listener_task.done()
    await first.aclose()
    assert cache._listener_task is not None and not cache._listener_task.done()
    await second.aclose()
    assert cache._listener_task is None and cache._redis is None
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set()


async def test_processes_share_one_fetch(
    current_server: EmbeddedServer, redis_url: str, prefix: str
) -> None:
    server = current_server
    info = server.info
    async with make_client(server) as client:
        await client.secrets.create("X", "from-one-fetch")
    server.control.delay_next(1, seconds=0.5, path="^/api/v4/secrets/X$", method="GET")
    script = textwrap.dedent(
        f"""
        import asyncio, sys, time
        from infisical_async import AsyncInfisicalClient, UniversalAuth
        from infisical_async.cache import RedisCache

        async def main():
            start_at = float(sys.argv[1])
            cache = RedisCache({redis_url!r}, secret={SECRET!r}, prefix={prefix!r})
            async with AsyncInfisicalClient(
                site_url={info.site_url!r},
                auth=UniversalAuth(client_id={info.client_id!r},
                                   client_secret={info.client_secret!r}),
                project_id={info.project_id!r}, environment="dev", cache=cache,
            ) as client:
                await client.ping()  # log in first: only the read is timed
                await asyncio.sleep(max(0.0, start_at - time.time()))
                print((await client.secrets.get("X")).value)

        asyncio.run(main())
        """
    )
    start_at = str(time.time() + 2.0)
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            script,
            start_at,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(4)
    ]
    try:
        outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 30)
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == "from-one-fetch"
    assert server.control.request_count(GET) == 1


def test_the_blocking_client_takes_the_same_cache(redis_url: str, prefix: str) -> None:
    from infisical_sync import InfisicalClient, UniversalAuth

    with EmbeddedServer().run_in_thread() as server:
        info = server.info
        options: dict[str, Any] = {
            "site_url": info.site_url,
            "auth": UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
            "project_id": info.project_id,
            "environment": "dev",
        }
        with InfisicalClient(
            **options, cache=RedisCache(redis_url, secret=SECRET, prefix=prefix)
        ) as first:
            first.secrets.create("X", "value")
            assert first.secrets.get("X").value == "value"
        with InfisicalClient(
            **options, cache=RedisCache(redis_url, secret=SECRET, prefix=prefix)
        ) as second:
            assert second.secrets.get("X").value == "value"
        assert server.control.request_count(GET) == 1
        # Every blocking client runs its own event loop: one cache cannot serve two at once.
        one = RedisCache(redis_url, secret=SECRET, prefix=prefix)
        with (
            InfisicalClient(**options, cache=one) as third,
            InfisicalClient(**options, cache=one) as fourth,
        ):
            assert third.secrets.get("X").value == "value"
            with pytest.raises(InvalidArgumentError) as caught:
                fourth.secrets.get("X")
            assert caught.value.argument == "cache"
        assert one._listener_task is None and one._redis is None


async def _eventually(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    give_up = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > give_up:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_a_reader_that_takes_a_just_released_lock_looks_again_before_fetching(
    current_server: EmbeddedServer, shared: Callable[..., RedisCache]
) -> None:
    server = current_server

    class LateReader(RedisCache):
        """Its first look misses, as if the holder stored the answer just after it."""

        missed = False

        async def get(self, key: EntryKey) -> CacheLookup:
            lookup = await super().get(key)
            if not self.missed:
                self.missed = True
                return CacheLookup(None, lookup.stamp)
            return lookup

    async with make_client(server, cache=shared()) as first:
        await first.secrets.create("X", "value")
        await first.secrets.get("X")
    late = LateReader(shared()._url, secret=SECRET, prefix=shared()._prefix)
    async with make_client(server, cache=late) as second:
        assert (await second.secrets.get("X")).value == "value"
    assert late.missed
    assert server.control.request_count(GET) == 1


def test_a_forked_child_uses_the_cache_without_disturbing_the_parent(
    redis_url: str, prefix: str
) -> None:
    with EmbeddedServer().run_in_thread() as server:
        info = server.info
        script = textwrap.dedent(
            f"""
            import os, sys
            from infisical_sync import InfisicalClient, UniversalAuth
            from infisical_async.cache import RedisCache

            cache = RedisCache({redis_url!r}, secret={SECRET!r}, prefix={prefix!r})
            options = dict(
                site_url={info.site_url!r},
                auth=UniversalAuth(client_id={info.client_id!r},
                                   client_secret={info.client_secret!r}),
                project_id={info.project_id!r}, environment="dev", cache=cache,
            )
            parent = InfisicalClient(**options)
            parent.secrets.create("X", "value")
            assert parent.secrets.get("X").value == "value"
            pid = os.fork()
            if pid == 0:
                try:
                    with InfisicalClient(**options) as child:
                        ok = child.secrets.get("X").value == "value"
                except BaseException:
                    ok = False
                os._exit(0 if ok else 3)
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status
            for _ in range(3):  # the parent's connections to Redis still work
                assert parent.secrets.get("X").value == "value"
            parent.secrets.update("X", value="new")
            assert parent.secrets.get("X").value == "new"
            parent.close()
            print("ok")
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "ok"
        # The child read from Redis: the server saw the parent's fetches only.
        assert server.control.request_count(GET) == 2


async def test_a_lost_subscription_drops_memory_once_it_is_back(
    current_server: EmbeddedServer,
    shared: Callable[..., RedisCache],
    raw: redis_asyncio.Redis,
    prefix: str,
) -> None:
    """Invalidations sent while the subscriber was cut off are lost: on reconnecting it
    drops everything memory holds instead of serving copies that may be stale."""
    server = current_server
    cache = shared(retry_after=0.05, redis_options={"client_name": prefix})
    async with make_client(server, cache=cache, cache_ttl=60) as client:
        await client.secrets.create("X", "value")
        await client.secrets.get("X")
        assert client.secrets._cached_get("X") is not None
        ours = [c for c in await raw.client_list(_type="pubsub") if c.get("name") == prefix]
        assert len(ours) == 1
        await raw.client_kill_filter(_id=ours[0]["id"])
        assert await _eventually(lambda: client.secrets._cached_get("X") is None)
        # Subscribed again: a later write by another process still reaches it.
        assert (await client.secrets.get("X")).value == "value"
        async with make_client(server, cache=shared()) as writer:
            await writer.secrets.update("X", value="new")
        assert await _eventually(lambda: client.secrets._cached_get("X") is None)
        assert (await client.secrets.get("X")).value == "new"


async def test_a_live_cache_passes_change_events_on_to_the_fleet(
    shared: Callable[..., RedisCache],
) -> None:
    async with EmbeddedServer(events_publish_delay=0.01, events_ping_interval=0.05) as srv:
        srv.control.seed({"DB": "one"})
        watching = make_client(srv, cache_ttl=300, cache_mode="live", cache=shared())
        quiet = make_client(srv, cache_ttl=300, cache=shared())  # not watching anything
        async with watching, quiet, make_client(srv) as other_tool:
            assert (await watching.secrets.get("DB")).value == "one"
            assert (await quiet.secrets.get("DB")).value == "one"
            for _ in range(300):
                if srv.control.event_streams:
                    break
                await asyncio.sleep(0.01)
            # A write no shared cache hears of: only the event tells the fleet.
            await other_tool.secrets.update("DB", value="two")
            for _ in range(300):
                if (await quiet.secrets.get("DB")).value == "two":
                    break
                await asyncio.sleep(0.01)
            assert (await quiet.secrets.get("DB")).value == "two"
