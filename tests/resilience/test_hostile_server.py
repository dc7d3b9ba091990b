"""Every README promise against hostile or broken servers, each a row of the fault table.

One deadline per call; a size cap on decoded bytes; typed errors for malformed answers;
route-safe path segments; any caller session; a cache that is never stale; no credentials
in exception chains; no back-to-back retries.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import time
import traceback
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from infisical_async import (
    APIConnectionError,
    APITimeoutError,
    ApprovalRequiredError,
    AsyncInfisicalClient,
    AuthenticationError,
    ClientClosedError,
    InfisicalError,
    InvalidArgumentError,
    NotFoundError,
    ResponseValidationError,
    Timeout,
    UniversalAuth,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import ServeApp, make_client
from .conftest import DEADLINE_OVERRUNS, FAULT_TABLE

LOGIN = "POST /api/v1/auth/universal-auth/login"
LIST = "GET /api/v4/secrets"
TOKEN = "header.payload.signature-of-the-bearer-token"
SECRET_VALUE = "s3cr3t-value-that-must-not-leak"


def row(name: str, calls: int, faults: int, failures: int, expected: int) -> None:
    FAULT_TABLE.append((name, calls, faults, failures, expected))
    assert failures == expected


def login_answer() -> web.Response:
    return web.json_response(
        {"accessToken": TOKEN, "expiresIn": 3600, "accessTokenMaxTTL": 0, "tokenType": "Bearer"}
    )


async def hostile(serve: ServeApp, answer: Any, **options: Any) -> AsyncInfisicalClient:
    """A client of a server that logs in fine and then answers ``answer(request)``."""
    app = web.Application()

    async def login(_: web.Request) -> web.Response:
        return login_answer()

    async def anything(request: web.Request) -> web.StreamResponse:
        result = answer(request)
        return await result if asyncio.iscoroutine(result) else result  # type: ignore[no-any-return]

    app.router.add_post("/api/v1/auth/universal-auth/login", login)
    app.router.add_route("*", "/{tail:.*}", anything)
    url = await serve(app)
    return AsyncInfisicalClient(
        site_url=url,
        auth=UniversalAuth(client_id="id", client_secret="client-secret-value"),
        project_id="p",
        environment="dev",
        **options,
    )


# -- one deadline ------------------------------------------------------------------------


async def timed(coro: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        await coro
    except InfisicalError as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


async def test_the_deadline_covers_a_slow_login(current_server: EmbeddedServer) -> None:
    server = current_server
    calls, late = 5, 0
    for _ in range(calls):
        async with make_client(server) as client:  # each needs its own (slow) login
            server.control.delay_next(1, seconds=3, path="universal-auth")
            error, took = await timed(client.with_options(timeout=1).secrets.list())
            assert isinstance(error, APITimeoutError)
            DEADLINE_OVERRUNS.append(("slow login", max(0.0, took - 1)))
            late += took > 1.3
    row("login slower than the deadline (3s vs 1s)", calls, calls, late, 0)


async def test_the_deadline_covers_relogin_and_replay(current_server: EmbeddedServer) -> None:
    server = current_server
    calls, late = 5, 0
    async with make_client(server) as client:
        await client.secrets.list()
        for _ in range(calls):
            server.control.fail_next(1, status=401, path="^/api/v4/secrets$")
            server.control.delay_next(1, seconds=0.8, path="universal-auth")
            server.control.delay_next(1, seconds=0.8, path="^/api/v4/secrets$")
            error, took = await timed(client.with_options(timeout=1.5).secrets.list())
            assert isinstance(error, APITimeoutError)  # 0.8 + 0.8 > 1.5: no fresh budget
            DEADLINE_OVERRUNS.append(("401, re-login, replay", max(0.0, took - 1.5)))
            late += took > 1.8
            server.control.clear_faults()
    row("401 + slow re-login + slow replay (1.5s)", calls, calls * 3, late, 0)


@pytest.mark.parametrize("bad", [0, -1, 0.0, float("nan"), True, "5"])
async def test_non_positive_timeouts_are_refused(bad: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        AsyncInfisicalClient(site_url="http://127.0.0.1:1", timeout=bad)
    assert caught.value.argument == "timeout"
    with pytest.raises(InvalidArgumentError):
        Timeout(total=bad)
    assert Timeout.coerce(None).total is None  # None: no total deadline


# -- size cap on decoded bytes -------------------------------------------------------------


def bomb(encoding: str, size: int) -> bytes:
    raw = b" " * size  # valid JSON whitespace, so only the cap can stop it
    if encoding == "gzip":
        return gzip.compress(raw, compresslevel=9)
    return zlib.compress(raw, 9)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
@pytest.mark.parametrize("length", ["honest Content-Length", "chunked"])
async def test_compressed_answers_are_capped_after_decoding(
    local_app: ServeApp, encoding: str, length: str
) -> None:
    body = bomb(encoding, 256 * 1024 * 1024)  # 256 MiB inflated, ~250 KiB on the wire

    async def answer(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
        if length == "chunked":
            response = web.StreamResponse(headers=headers)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(body), 16384):
                await response.write(body[start : start + 16384])
            await response.write_eof()
            return response
        return web.Response(body=body, headers=headers)

    async with await hostile(local_app, answer, max_response_bytes=1024 * 1024) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseValidationError, match="limit"):
                await client.secrets.list()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the cap plus a chunk, not the 256 MiB
    row(f"{encoding} bomb, {length} (1 MiB cap)", 1, 1, 0, 0)


# -- typed errors for malformed answers ------------------------------------------------------

MALFORMED: list[tuple[str, str, Any]] = [
    ("folders list of wrong types", "folders", {"folders": [1, "x", None]}),
    ("leases list of wrong types", "leases", {"leases": [{"id": 5}]}),
    ("batch results of wrong types", "batch", {"secrets": [[], {}]}),
    ("a null lease", "lease", {"lease": None}),
    ("a token with CRLF", "token", None),
    ("a secret answered under another key", "wrong key", None),
    ("a body that is not JSON", "not json", None),
    ("a list where an object belongs", "secret list", []),
]


@pytest.mark.parametrize(("label", "call", "payload"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_answers_raise_typed_errors(
    local_app: ServeApp, label: str, call: str, payload: Any
) -> None:
    app = web.Application()
    token = "bad\r\ntoken" if call == "token" else TOKEN

    async def login(_: web.Request) -> web.Response:
        return web.json_response({"accessToken": token, "expiresIn": 3600})

    async def answer(request: web.Request) -> web.Response:
        if call == "wrong key":
            return web.json_response({"secret": {"secretKey": "OTHER", "secretValue": "v"}})
        if call == "not json":
            return web.Response(body=f'{{"secret": "{SECRET_VALUE}"', content_type="text/json")
        if "/dynamic-secrets/" in request.path and request.method == "GET":
            return web.json_response({"dynamicSecret": {}, "projectSlug": "p"})
        return web.json_response(payload)

    app.router.add_post("/api/v1/auth/universal-auth/login", login)
    app.router.add_route("*", "/{tail:.*}", answer)
    url = await local_app(app)
    async with AsyncInfisicalClient(
        site_url=url,
        auth=UniversalAuth(client_id="id", client_secret="client-secret-value"),
        project_id="p",
        project_slug="p",
        environment="dev",
    ) as client:
        operation = {
            "folders": lambda: client.folders.list(),
            "leases": lambda: client.dynamic_secrets.leases.list("db"),
            "batch": lambda: client.secrets.batch_create({"A": "1"}),
            "lease": lambda: client.dynamic_secrets.leases.create("db"),
            "token": lambda: client.secrets.list(),
            "wrong key": lambda: client.secrets.get("FOO"),
            "not json": lambda: client.secrets.get("FOO"),
            "secret list": lambda: client.secrets.list(),
        }[call]
        with pytest.raises(ResponseValidationError) as caught:
            await operation()
    assert_clean_chain(caught.value)
    row(f"malformed: {label}", 1, 1, 0, 0)


# -- route-safe path segments ------------------------------------------------------------------


async def test_dot_segments_are_refused_and_never_flip_the_api_generation(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    refused = 0
    async with make_client(server) as client:
        calls = [
            lambda: client.secrets.get("."),
            lambda: client.secrets.get(".."),
            lambda: client.secrets.delete(".."),
            lambda: client.dynamic_secrets.leases.get("..", project_slug="p"),
            lambda: client.dynamic_secrets.leases.renew(".", project_slug="p"),
        ]
        for call in calls:
            with pytest.raises(InvalidArgumentError):
                await call()
            refused += 1
        with pytest.raises(NotFoundError):  # the client's own input: no such secret
            await client.secrets.get("MISSING")
        server.control.reset_counts()
        await client.secrets.list()
        assert server.control.request_count(LIST) == 1  # still the v4 routes
    row("'.' and '..' as names (refused before sending)", len(calls), len(calls), 0, 0)
    assert refused == len(calls)


# -- any caller session ----------------------------------------------------------------------


async def test_a_caller_session_with_raise_for_status_works(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    info = server.info
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        async with make_client(
            server,
            http_session=session,
            auth=UniversalAuth(client_id=info.client_id, client_secret="wrong"),
        ) as bad:
            with pytest.raises(AuthenticationError):
                await bad.secrets.list()
        async with make_client(server, http_session=session) as client:
            await client.secrets.create("K", "v")
            with pytest.raises(NotFoundError):
                await client.secrets.get("MISSING")
            server.control.expire_all_tokens()
            assert (await client.secrets.get("K")).value == "v"  # re-login works
    row("caller session with raise_for_status=True", 3, 3, 0, 0)


async def test_a_caller_session_without_decompression_is_refused() -> None:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        with pytest.raises(InvalidArgumentError, match="auto_decompress"):
            AsyncInfisicalClient(site_url="http://127.0.0.1:1", http_session=session)


# -- a cache that is never stale -------------------------------------------------------------


@pytest.fixture
async def cached(current_server: EmbeddedServer) -> AsyncIterator[AsyncInfisicalClient]:
    async with make_client(current_server, cache_ttl=3600, max_retries=0) as client:
        yield client


async def test_folder_deletes_drop_cached_reads(
    current_server: EmbeddedServer, cached: AsyncInfisicalClient
) -> None:
    client = cached
    await client.folders.create("app")
    await client.secrets.create("K", "v", secret_path="/app")
    assert len(await client.secrets.list(secret_path="/app")) == 1
    await client.folders.delete("app")
    current_server.control.reset_counts()
    assert len(await client.secrets.list(secret_path="/app")) == 0  # asked again
    assert current_server.control.request_count(LIST) == 1
    row("cache: folder deleted under cached reads", 1, 1, 0, 0)


@pytest.mark.parametrize("fault", ["timeout", "dropped connection", "approval"])
async def test_writes_whose_answer_was_lost_drop_cached_reads(
    current_server: EmbeddedServer, cached: AsyncInfisicalClient, fault: str
) -> None:
    server, client = current_server, cached
    await client.secrets.create("K", "old")
    assert (await client.secrets.get("K")).value == "old"  # now cached
    if fault == "timeout":
        server.control.delay_next(1, seconds=1.0, path="^/api/v4/secrets/K$", method="PATCH")
        with pytest.raises(APITimeoutError):
            await client.with_options(timeout=0.3).secrets.update("K", value="new")
        await asyncio.sleep(0.8)  # whatever the server made of the write, it is done
    elif fault == "dropped connection":
        server.control.drop_next(1, path="^/api/v4/secrets/K$", method="PATCH")
        with pytest.raises(APIConnectionError):
            await client.secrets.update("K", value="new")
    else:
        server.control.require_approval("dev")
        with pytest.raises(ApprovalRequiredError):
            await client.secrets.update("K", value="pending")
    async with make_client(server) as uncached:
        truth = (await uncached.secrets.get("K")).value
    server.control.reset_counts()
    assert (await client.secrets.get("K")).value == truth  # read again, not from the cache
    assert server.control.request_count("GET /api/v4/secrets/{name}") == 1
    if fault != "approval":
        assert truth == "new" or fault == "timeout"  # a dropped answer hid an applied write
    row(f"cache: write answer lost ({fault})", 1, 1, 0, 0)


async def test_a_read_older_than_a_write_does_not_store_its_answer(
    current_server: EmbeddedServer, cached: AsyncInfisicalClient
) -> None:
    server, client = current_server, cached
    await client.secrets.create("K", "old")
    server.control.delay_next(1, seconds=0.5, path="^/api/v4/secrets/K$", method="GET")
    slow_read = asyncio.ensure_future(client.secrets.get("K"))
    await asyncio.sleep(0.1)  # the read has been answered "old" by now... but not delivered
    await client.secrets.update("K", value="new")
    await slow_read  # its answer ("old" or "new", by timing) is not what is checked here
    assert (await client.secrets.get("K")).value == "new"  # not the slow read's answer
    row("cache: read overtaken by a write", 1, 1, 0, 0)


# -- no credentials in exception chains ------------------------------------------------------


def assert_clean_chain(exc: BaseException, *secrets: str) -> None:
    """Nothing in the exception, its chain or their attributes holds a credential."""
    forbidden = (TOKEN, SECRET_VALUE, "client-secret-value", *secrets)
    seen = exc
    texts = ["".join(traceback.format_exception(exc))]
    chain: list[BaseException] = []
    while seen is not None and seen not in chain:
        chain.append(seen)
        texts.append(repr(seen))
        texts.append(repr(vars(seen)))
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    for exception in chain:
        assert not hasattr(exception, "request_info"), exception
        assert not isinstance(exception, json.JSONDecodeError), exception
    for text in texts:
        for value in forbidden:
            assert value not in text


async def test_connection_errors_carry_no_credentials(local_app: ServeApp) -> None:
    async def cut(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "100"})
        await response.prepare(request)
        await response.write(b'{"secret": "' + SECRET_VALUE.encode())
        assert request.transport is not None
        request.transport.abort()
        return response

    async with await hostile(local_app, cut, max_retries=0) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.secrets.get("K")
    assert_clean_chain(caught.value)
    row("dropped mid-body: no token or body in the chain", 1, 1, 0, 0)


def test_site_url_with_credentials_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        AsyncInfisicalClient(site_url="http://user:pa55word@127.0.0.1:1")
    assert "pa55word" not in str(caught.value) and caught.value.argument == "site_url"
    row("site_url with user:password@ (refused)", 1, 1, 0, 0)


# -- no back-to-back retries ---------------------------------------------------------------


@pytest.mark.parametrize("retry_after", ["0", "-5", "Thu, 01 Jan 1970 00:00:00 GMT", "soon"])
async def test_useless_retry_after_values_get_the_normal_backoff(
    local_app: ServeApp, retry_after: str
) -> None:
    hits: list[float] = []

    def busy(_: web.Request) -> web.Response:
        hits.append(time.monotonic())
        return web.json_response(
            {"message": "busy", "error": "ServiceUnavailable", "statusCode": 503},
            status=503,
            headers={"Retry-After": retry_after},
        )

    async with await hostile(
        local_app, busy, max_retries=1000, retry_delay=0.05, timeout=1.0
    ) as client:
        with pytest.raises(InfisicalError):
            await client.secrets.list()
    gaps = [later - earlier for earlier, later in itertools.pairwise(hits)]
    assert len(hits) <= 8  # 0.05, 0.1, 0.2, 0.4... within 1 s, not a thousand requests
    assert min(gaps) >= 0.03
    label = {"0": "0", "-5": "-5", "soon": "unparsable"}.get(retry_after, "a past date")
    row(f"503, Retry-After {label}: backoff kept", 1, len(hits), 0, 0)


async def test_one_caller_cannot_change_what_the_cache_hands_the_next(
    cached: AsyncInfisicalClient,
) -> None:
    client = cached
    await client.secrets.batch_create({"A": "1", "B": "2"})
    first = await client.secrets.list()
    with pytest.raises(AttributeError):
        first.secrets.clear()  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        first.secrets[0] = first.secrets[1]  # type: ignore[index]
    again = await client.secrets.list()
    assert [s.key for s in again] == ["A", "B"]
    row("cache: an answer cannot be changed by its caller", 1, 1, 0, 0)


@pytest.mark.parametrize("target", ["secret", "batch", "folder", "kms key"])
async def test_a_delete_whose_answer_was_lost_has_succeeded(
    current_server: EmbeddedServer, target: str
) -> None:
    server = current_server
    async with make_client(server) as client:
        if target == "secret":
            await client.secrets.create("GONE", "v")
            server.control.drop_next(1, path="^/api/v4/secrets/GONE$", method="DELETE")
            assert await client.secrets.delete("GONE") is None
            with pytest.raises(NotFoundError):
                await client.secrets.get("GONE")
        elif target == "batch":
            await client.secrets.batch_create({"A": "1", "B": "2"})
            server.control.drop_next(1, path="^/api/v4/secrets/batch$", method="DELETE")
            assert await client.secrets.batch_delete(["A", "B"]) == ()
            assert len(await client.secrets.list()) == 0
        elif target == "folder":
            await client.folders.create("gone")
            server.control.drop_next(1, path="^/api/v2/folders/gone$", method="DELETE")
            assert await client.folders.delete("gone") is None
            assert [f.name for f in await client.folders.list()] == []
        else:
            key = await client.kms.keys.create("gone-key")
            server.control.drop_next(1, path="^/api/v1/kms/keys/", method="DELETE")
            assert await client.kms.keys.delete(key.id) is None
            with pytest.raises(NotFoundError):
                await client.kms.keys.get(key.id)
    row(f"lost delete answer, retry gets 404 ({target})", 1, 1, 0, 0)


async def test_a_delete_refused_by_the_rate_limit_then_404_is_not_found(
    local_app: ServeApp,
) -> None:
    answers = [
        web.json_response(
            {"statusCode": 429, "message": "slow down", "error": "RateLimitExceeded"},
            status=429,
            headers={"Retry-After": "0.05"},
        ),
        web.json_response(
            {"statusCode": 404, "message": "Secret X not found", "error": "NotFound"},
            status=404,
        ),
    ]

    def answer(_: web.Request) -> web.Response:
        return answers.pop(0)

    async with await hostile(local_app, answer, pace_rate_limits="off") as client:
        with pytest.raises(NotFoundError):  # a 429 says nothing was deleted
            await client.secrets.delete("X")
    row("429 then 404 on a delete: still not found", 1, 1, 0, 0)


async def test_a_closed_caller_session_gives_client_closed_error(
    current_server: EmbeddedServer,
) -> None:
    session = aiohttp.ClientSession()
    client = make_client(current_server, http_session=session)
    await client.secrets.list()
    await session.close()
    with pytest.raises(ClientClosedError):
        await client.secrets.list()
    await client.aclose()


async def test_ping_keeps_the_one_deadline(current_server: EmbeddedServer) -> None:
    current_server.control.delay_next(1, seconds=3, path="universal-auth")
    async with make_client(current_server) as client:
        error, took = await timed(client.with_options(timeout=0.5).ping())
    assert isinstance(error, APITimeoutError) and took < 0.8
    DEADLINE_OVERRUNS.append(("ping with a slow login", max(0.0, took - 0.5)))


async def test_reads_share_only_with_calls_of_the_same_options(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server) as client:
        await client.secrets.create("X", "v")
        server.control.delay_next(2, seconds=0.6, path="^/api/v4/secrets/X$", method="GET")
        hasty = asyncio.ensure_future(client.with_options(timeout=0.3).secrets.get("X"))
        await asyncio.sleep(0.05)
        patient = await client.with_options(timeout=10).secrets.get("X")
        assert patient.value == "v"  # not failed by the hasty view's deadline
        with pytest.raises(APITimeoutError):
            await hasty
