"""Reads a fleet can afford: coalesced, revalidated by ETag, paced by the server's limits."""

from __future__ import annotations

import asyncio
import gc
import time
import traceback

import pytest
from aiohttp import web

from infisical_async import (
    APITimeoutError,
    AsyncInfisicalClient,
    NotFoundError,
    RateLimitError,
    Secret,
    UniversalAuth,
)
from infisical_async._pacing import PROBE_PATIENCE, PROBE_POLL, Pacer
from infisical_async.testing import EmbeddedServer

from ..conftest import ServeApp, make_client

GET = "GET /api/v4/secrets/{name}"
LIST = "GET /api/v4/secrets"


def hold_gets(server: EmbeddedServer, key: str, *, seconds: float, count: int = 1) -> None:
    """Have the server hold its next ``count`` gets of ``key`` for ``seconds``."""
    server.control.delay_next(count, seconds=seconds, path=f"^/api/v4/secrets/{key}$", method="GET")


async def read_in_flight(
    client: AsyncInfisicalClient, server: EmbeddedServer, *, hold: float, holds: int = 1
) -> asyncio.Future[Secret]:
    """Start a get of X that the server holds for ``hold`` seconds (and ``holds - 1`` more
    after it): once this returns, it is the read in flight that identical calls join."""
    hold_gets(server, "X", seconds=hold, count=holds)
    first = asyncio.ensure_future(client.secrets.get("X"))
    await asyncio.sleep(0.05)
    return first


@pytest.mark.parametrize("cache_ttl", [0, 60])
async def test_64_identical_concurrent_gets_send_one_request(
    current_server: EmbeddedServer, cache_ttl: float
) -> None:
    server = current_server
    async with make_client(server, cache_ttl=cache_ttl) as client:
        await client.secrets.create("X", "value")
        hold_gets(server, "X", seconds=0.2)
        results = await asyncio.gather(*(client.secrets.get("X") for _ in range(64)))
        assert {r.value for r in results} == {"value"}
        assert server.control.request_count(GET) == 1
        lists = await asyncio.gather(*(client.secrets.list() for _ in range(16)))
        assert server.control.request_count(LIST) == 1 and len(lists[0]) == 1
        assert client._state.inflight == {}  # nothing left behind


async def test_a_read_never_joins_one_that_began_before_a_write(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server) as client:
        await client.secrets.create("X", "old")
        first = await read_in_flight(client, server, hold=0.3)
        await client.secrets.update("X", value="new")
        second = await client.secrets.get("X")  # after the write: its own request
        assert second.value == "new"
        await first
        assert server.control.request_count(GET) == 2


async def test_a_cancelled_caller_leaves_the_shared_read_to_the_others(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server) as client:
        await client.secrets.create("X", "value")
        first = await read_in_flight(client, server, hold=0.3)
        followers = [asyncio.ensure_future(client.secrets.get("X")) for _ in range(4)]
        await asyncio.sleep(0.05)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        results = await asyncio.gather(*followers)
        assert {r.value for r in results} == {"value"}
        # The cancelled request, then one request that the followers shared among them.
        assert server.control.request_count(GET) == 2
        assert client._state.inflight == {}


async def test_a_follower_keeps_its_own_deadline_when_the_read_it_waits_on_is_cancelled(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, timeout=1.0) as client:
        await client.secrets.create("X", "value")
        first = await read_in_flight(client, server, hold=5.0, holds=5)
        started = time.monotonic()
        follower = asyncio.ensure_future(client.secrets.get("X"))  # 1 s for the whole call
        await asyncio.sleep(0.85)
        first.cancel()  # the follower now reads for itself, with what is left of its second
        outcome = (await asyncio.gather(follower, return_exceptions=True))[0]
        assert isinstance(outcome, APITimeoutError)
        assert time.monotonic() - started < 1.5
        assert first.cancelled()


async def test_a_cancelled_follower_stays_cancelled_whatever_its_read_came_to(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, timeout=30) as client:
        await client.secrets.create("X", "value")
        first = await read_in_flight(client, server, hold=0.3, holds=2)
        follower = asyncio.ensure_future(client.secrets.get("X"))
        await asyncio.sleep(0.05)
        first.cancel()
        await asyncio.sleep(0)  # the first call gives up its read...
        await asyncio.sleep(0)
        follower.cancel()  # ...and the follower is cancelled before it wakes to that
        outcome = (await asyncio.gather(follower, return_exceptions=True))[0]
        assert isinstance(outcome, asyncio.CancelledError)
        assert server.control.request_count(GET) == 1  # nobody read again
        assert client._state.inflight == {}


async def test_a_followers_traceback_holds_none_of_the_first_callers_frames(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, max_retries=0) as client:
        hold_gets(server, "NOPE", seconds=0.2)

        async def first_callers_own_code() -> object:
            return await client.secrets.get("NOPE")

        async def followers_code() -> object:
            return await client.secrets.get("NOPE")

        first = asyncio.ensure_future(first_callers_own_code())
        await asyncio.sleep(0.05)
        outcomes = await asyncio.gather(first, followers_code(), return_exceptions=True)
        assert all(isinstance(o, NotFoundError) for o in outcomes)
        frames = [f.name for f in traceback.extract_tb(outcomes[1].__traceback__)]  # type: ignore[union-attr]
        assert "followers_code" in frames and "first_callers_own_code" not in frames


async def test_a_follower_gets_its_own_copy_of_a_shared_error(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, max_retries=0) as client:
        hold_gets(server, "NOPE", seconds=0.2)

        async def first_caller_handling_its_own_error() -> object:
            try:
                raise RuntimeError("the first caller's private business")
            except RuntimeError:
                try:
                    return await client.secrets.get("NOPE")
                except NotFoundError as exc:
                    exc.__notes__ = ["tenant=alice"]  # as add_note() does (3.11+)
                    raise

        first = asyncio.ensure_future(first_caller_handling_its_own_error())
        await asyncio.sleep(0.05)
        theirs, ours = await asyncio.gather(
            first, client.secrets.get("NOPE"), return_exceptions=True
        )
        assert isinstance(theirs, NotFoundError) and isinstance(ours, NotFoundError)
        assert ours is not theirs and str(ours) == str(theirs) and ours.status_code == 404
        assert ours.__context__ is None and ours.__cause__ is None  # not the first's
        assert not hasattr(ours, "__notes__")
        assert isinstance(theirs.__context__, RuntimeError)  # the first's, untouched
        assert theirs.__notes__ == ["tenant=alice"]


async def test_a_follower_cancelled_twice_while_its_new_read_cleans_up_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infisical_async.resources.secrets import AsyncSecrets

    reads: list[int] = []
    cleaned: list[int] = []

    async def slow_read(self: AsyncSecrets, cache_key: object, fetch: object) -> object:
        reads.append(1)
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.01)  # cleanup that awaits (a shared cache's lock release)
            cleaned.append(1)
            raise

    monkeypatch.setattr(AsyncSecrets, "_through_cache", slow_read)
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: loop_errors.append(ctx))
    key = ("get", "p", "dev", "/", "X")
    async with AsyncInfisicalClient(
        site_url="http://127.0.0.1:9",
        auth=UniversalAuth(client_id="i", client_secret="s"),
        project_id="p",
        environment="dev",
        timeout=30,
    ) as client:
        first = asyncio.ensure_future(client.secrets._read(key, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        follower = asyncio.ensure_future(client.secrets._read(key, None))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        first.cancel()
        await asyncio.sleep(0.05)  # the follower now leads a read of its own
        assert len(reads) == 2
        follower.cancel()
        await asyncio.sleep(0)
        follower.cancel()  # again, while that read's cleanup awaits
        outcomes = await asyncio.gather(first, follower, return_exceptions=True)
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
        assert len(cleaned) == 2  # each read had cleaned up when its caller's call ended
        await asyncio.sleep(0.05)
        assert client._state.inflight == {}
    gc.collect()
    await asyncio.sleep(0)
    assert loop_errors == []


async def test_a_shared_failure_reaches_every_caller_and_is_never_left_unretrieved(
    current_server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = current_server
    async with make_client(server, max_retries=0) as client:
        hold_gets(server, "NOPE", seconds=0.2)
        calls = [client.secrets.get("NOPE") for _ in range(8)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, NotFoundError) for o in outcomes)
        assert server.control.request_count("GET /api/v4/secrets/{name}") == 1
        # A leader with nobody following must not leave "exception was never retrieved".
        with pytest.raises(NotFoundError):
            await client.secrets.get("NOPE")
    gc.collect()
    assert "never retrieved" not in caplog.text


async def test_coalescing_can_be_turned_off(current_server: EmbeddedServer) -> None:
    server = current_server
    async with make_client(server, coalesce_reads=False) as client:
        await client.secrets.create("X", "value")
        await asyncio.gather(*(client.secrets.get("X") for _ in range(8)))
        assert server.control.request_count(GET) == 8


async def test_expired_cache_entries_are_revalidated_by_etag(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    now = [0.0]
    async with make_client(server, cache_ttl=10) as client:
        client._state.cache._clock = lambda: now[0]
        await client.secrets.create("X", "value")
        first = await client.secrets.get("X")
        listed = await client.secrets.list()
        now[0] += 11  # both expired
        assert await client.secrets.get("X") is first  # 304: the same answer, unparsed
        assert await client.secrets.list() is listed
        assert server.control.not_modified == 2
        assert server.control.request_count(GET) == 2
        assert await client.secrets.get("X") is first  # fresh again: no request at all
        assert server.control.request_count(GET) == 2
        await client.with_options().secrets.list()  # views share the cache
        now[0] += 11
        async with make_client(server) as other:  # a change by someone else
            await other.secrets.update("X", value="changed")
        assert (await client.secrets.get("X")).value == "changed"
        assert server.control.not_modified == 2  # that one was a full answer


async def test_pacing_waits_for_the_window_instead_of_sending_into_429() -> None:
    async with (
        EmbeddedServer(rate_limits="instance", rate_window=0.6) as server,
        make_client(server, pace_rate_limits="off", retry_delay=0.01) as raw,
    ):
        for _ in range(75):  # 60 a window on this plan: the rest are 429s, retried
            await raw.secrets.list()
        assert server.control.rate_limited > 0
    async with (
        EmbeddedServer(rate_limits="instance", rate_window=0.6) as fresh,
        make_client(fresh) as paced,
    ):
        started = time.monotonic()
        for _ in range(75):
            await paced.secrets.list()
        assert fresh.control.rate_limited == 0  # never sent into a 429
        assert time.monotonic() - started >= 0.3  # it did wait for a window


async def test_clients_of_one_process_pace_as_one() -> None:
    async with EmbeddedServer(rate_limits="instance", rate_window=30) as server:
        async with make_client(server) as first:
            for _ in range(60):  # the window's whole budget
                await first.secrets.list()
        # A new client of the same process knows the window is spent: it does not send.
        async with make_client(server) as second:
            assert second._state.transport.pacer is first._state.transport.pacer
            with pytest.raises(RateLimitError):
                await second.with_options(timeout=2).secrets.list()
        async with make_client(server, pace_rate_limits="off") as unpaced:
            assert unpaced._state.transport.pacer is None
        assert server.control.rate_limited == 0


async def test_pacing_fails_fast_when_the_wait_passes_the_deadline() -> None:
    async with (
        EmbeddedServer(rate_limits="instance", rate_window=30) as server,
        make_client(server) as client,
    ):
        for _ in range(60):
            await client.secrets.list()
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await client.with_options(timeout=2).secrets.list()
        assert time.monotonic() - started < 0.5  # at once, not after the deadline
        assert caught.value.retry_after is not None and 20 < caught.value.retry_after < 35
        assert server.control.rate_limited == 0


def test_the_pacer_takes_its_share_and_backs_off_on_429() -> None:
    now = [0.0]
    draws = [0.5]
    pacer = Pacer(clock=lambda: now[0], rng=lambda: draws[0])
    assert pacer.reserve("GET /x") == 0.0  # nothing known: send
    pacer.observe("GET /x", 200, {"x-ratelimit-remaining": "2", "x-ratelimit-reset": "10"})
    assert pacer.reserve("GET /x") == 0.0
    assert pacer.reserve("GET /x") == 0.0
    assert pacer.reserve("GET /x") == pytest.approx(10 + 0.5 * 0.1 * 10)  # spent: next window
    # A 429: the fleet wants more than a window holds; this client halves its share.
    pacer.observe("GET /x", 429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4"})
    assert pacer._buckets["GET /x"].share == pytest.approx(0.5)
    now[0] = 4.0  # a new window: with a share of one half, it sends blind half the time
    draws[0] = 0.7
    assert pacer.reserve("GET /x") == pytest.approx(10 + 0.7 * 0.1 * 10)  # sat out
    now[0] = 14.0
    draws[0] = 0.2
    assert pacer.reserve("GET /x") == 0.0  # blind
    assert 0 < pacer.reserve("GET /x") <= 1.0  # waits briefly for the blind answer
    pacer.observe("GET /x", 200, {"x-ratelimit-remaining": "40", "x-ratelimit-reset": "9"})
    assert pacer._buckets["GET /x"].allowance == int(40 * 0.75)  # its share of the rest
    pacer.observe("GET /y", 200, {"x-ratelimit-remaining": "-1", "x-ratelimit-reset": "x"})
    assert pacer.reserve("GET /y") == 0.0  # malformed headers are ignored


@pytest.mark.parametrize(
    ("headers", "message", "expected"),
    [
        ({"retry-after": "42", "x-ratelimit-reset": "42"}, "Rate limit exceeded.", 42.0),
        ({"x-ratelimit-reset": "17"}, "Rate limit exceeded.", 17.0),
        ({}, "Rate limit exceeded. Please try again in 9 seconds", 9.0),
    ],
)
async def test_every_429_says_how_long_to_wait(
    local_app: ServeApp, headers: dict[str, str], message: str, expected: float
) -> None:
    async def login(_: web.Request) -> web.Response:
        return web.json_response({"accessToken": "t", "expiresIn": 3600})

    async def limited(_: web.Request) -> web.Response:
        body = {"statusCode": 429, "message": message, "error": "RateLimitExceeded"}
        return web.json_response(body, status=429, headers=headers)

    app = web.Application()
    app.router.add_post("/api/v1/auth/universal-auth/login", login)
    app.router.add_route("*", "/{tail:.*}", limited)
    async with AsyncInfisicalClient(
        site_url=await local_app(app),
        auth=UniversalAuth(client_id="id", client_secret="s"),
        project_id="p",
        environment="dev",
        max_retries=0,
        pace_rate_limits="off",
    ) as client:
        with pytest.raises(RateLimitError) as caught:
            await client.secrets.list()
    assert caught.value.retry_after == expected


def test_before_any_answer_one_request_asks_and_the_rest_wait_for_it() -> None:
    now = [0.0]
    pacer = Pacer(clock=lambda: now[0], rng=lambda: 0.5)
    # Until the site reports limits at all, nothing waits (a self-hosted server).
    assert pacer.reserve("GET /x") == pacer.reserve("GET /x") == 0.0
    pacer.observe("POST /login", 200, {"x-ratelimit-remaining": "9", "x-ratelimit-reset": "5"})
    assert pacer.reserve("GET /x") == 0.0  # the probe
    assert pacer.reserve("GET /x") == PROBE_POLL  # the others wait for its answer
    assert pacer.reserve("GET /other") == 0.0  # each bucket has its own probe
    now[0] = PROBE_PATIENCE + 0.1
    assert pacer.reserve("GET /x") == 0.0  # no answer in time: another one asks
    # An answer without limits (a self-hosted server): never paced again.
    pacer.observe("GET /x", 200, {})
    assert all(pacer.reserve("GET /x") == 0.0 for _ in range(100))
    # An answer with limits: paced by them.
    pacer.observe("GET /other", 200, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5"})
    assert pacer.reserve("GET /other") > 4


async def test_a_fresh_clients_first_burst_never_overruns_the_window() -> None:
    async with (
        EmbeddedServer(rate_limits="instance", rate_window=30) as server,  # 60 a window
        make_client(server, pace_rate_limits="process", timeout=2) as client,
    ):
        results = await asyncio.gather(
            *(client.secrets.get(f"K{i}") for i in range(80)), return_exceptions=True
        )
        answered = [r for r in results if isinstance(r, NotFoundError)]
        refused = [r for r in results if isinstance(r, RateLimitError)]
        # The first request learns the budget; the others then take exactly what is left,
        # and the 20 beyond it fail fast instead of waiting 30 s past their deadline.
        assert (len(answered), len(refused)) == (60, 20)
        assert server.control.rate_limited == 0
