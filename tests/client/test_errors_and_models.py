"""Error mapping, redaction, tolerant models, transport failures."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Sequence
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from infisical_async import (
    APIConnectionError,
    APITimeoutError,
    AsyncInfisicalClient,
    AuthenticationError,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    Secret,
    TokenAuth,
    UniversalAuth,
    UnprocessableEntityError,
)
from infisical_async._serde import converter, structure, unstructure
from infisical_async._transport import error_from_response
from infisical_async.errors import BadRequestError
from infisical_async.testing import EmbeddedServer

from ..conftest import ServeApp, make_client

KNOWN_SECRET = "s3cr3t-value-do-not-leak"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            b'{"statusCode":400,"message":"bad","error":"BadRequest","reqId":"req-1"}',
            BadRequestError,
        ),
        (
            401,
            b'{"statusCode":401,"message":"Token missing","error":"UnauthorizedError"}',
            AuthenticationError,
        ),
        (403, b'{"statusCode":403,"message":"expired","error":"TokenError"}', AuthenticationError),
        (
            403,
            b'{"statusCode":403,"message":"no","error":"PermissionDenied"}',
            PermissionDeniedError,
        ),
        (404, b'{"statusCode":404,"message":"Secret not found","error":"NotFound"}', NotFoundError),
        (
            422,
            b'{"statusCode":422,"message":[{"path":["a"],"message":"Required"}],'
            b'"error":"ValidationFailure"}',
            UnprocessableEntityError,
        ),
        (
            401,
            b'{"statusCode":401,"message":[{"path":["a"],"message":"Required"}],'
            b'"error":"ValidationFailure"}',
            UnprocessableEntityError,
        ),
        (
            429,
            b'{"statusCode":429,"message":"slow down","error":"RateLimitExceeded"}',
            RateLimitError,
        ),
        (502, b"<html>Bad Gateway</html>", InternalServerError),
    ],
)
def test_error_mapping(status: int, body: bytes, expected: type) -> None:
    error = error_from_response(
        status, body, {"Content-Type": "text/html", "Retry-After": "2"}, method="GET", path="/x"
    )
    assert type(error) is expected
    assert error.status_code == status
    if status == 400:
        assert error.request_id == "req-1"
    if status == 422:
        assert error.message == "a: Required" and error.issues[0]["path"] == ["a"]
    if status == 429:
        assert error.retry_after == 2.0
    if status == 502:
        assert "non-JSON" in error.message and "Bad Gateway" not in error.message


def test_models_tolerate_unknown_and_missing_optional_fields() -> None:
    secret = structure(
        {
            "secretKey": "K",
            "secretValue": KNOWN_SECRET,
            "brandNew": {"x": 1},
            "createdAt": "2023-11-07T05:31:56.000Z",
            "tags": None,
        },
        Secret,
    )
    assert secret.key == "K" and secret.created_at is not None
    assert secret.created_at.utcoffset() == timedelta(0)
    assert KNOWN_SECRET not in repr(secret) and KNOWN_SECRET not in str(secret)


async def test_list_answers_are_sequences_of_their_items(current_server: EmbeddedServer) -> None:
    async with make_client(current_server) as client:
        await client.secrets.batch_create({"A": "1", "B": "2", "C": "3"})
        for name in ("k-a", "k-b", "k-c"):
            await client.kms.keys.create(name)
        signer = await client.kms.keys.create("k-s", key_usage="sign-verify")
        listing = await client.secrets.list()
        keys = await client.kms.keys.list()
        algorithms = await client.kms.signing_algorithms(signer.id)
    assert isinstance(algorithms, tuple) and "RSASSA_PSS_SHA_256" in algorithms
    for page, items in ((listing, listing.secrets), (keys, keys.keys)):
        assert isinstance(page, Sequence) and len(items) >= 3
        assert page[1:] == items[1:] and isinstance(page[:2], tuple)
        assert page[-1] is items[-1] and list(reversed(page)) == list(reversed(items))
        assert page.index(items[1]) == 1 and page.count(items[0]) == 1 and items[0] in page
        # Both parsers still make the class: the fast path and (for odd answers) cattrs.
        wire = unstructure(page)
        assert structure(wire, type(page)) == page == converter().structure(wire, type(page))


def test_bad_shapes_raise_response_validation_without_values() -> None:
    with pytest.raises(ResponseValidationError) as caught:
        structure({"secretKey": "K", "secretValue": KNOWN_SECRET, "version": "many"}, Secret)
    assert "$.version" in str(caught.value)
    assert KNOWN_SECRET not in str(caught.value)
    with pytest.raises(ResponseValidationError):
        structure({"secretValue": KNOWN_SECRET}, Secret)
    with pytest.raises(ResponseValidationError):
        structure(["not", "an", "object"], Secret)


async def test_secrets_and_credentials_never_reach_reprs_or_logs(
    server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    info = server.info
    auth = UniversalAuth(client_id=info.client_id, client_secret=info.client_secret)
    assert info.client_secret not in repr(auth)
    async with make_client(server, auth=auth) as client:
        secret = await client.secrets.create("K", KNOWN_SECRET)
        listing = await client.secrets.list()
        token = client.auth.access_token
        assert token is not None
        texts = [repr(secret), str(secret), repr(listing), repr(client), repr(server.info)]
        with pytest.raises(NotFoundError) as caught:
            await client.secrets.get("MISSING")
        texts += [str(caught.value), repr(caught.value)]
    captured = caplog.text + "\n".join(texts)
    for needle in (KNOWN_SECRET, info.client_secret, token):
        assert needle not in captured


async def test_connection_refused_is_a_typed_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncInfisicalClient(
        site_url=f"http://127.0.0.1:{port}",
        max_retries=1,
        auth=TokenAuth(token="t"),
        project_id="p",
        environment="dev",
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.secrets.list()
    assert "GET /api/v4/secrets" in str(caught.value)


async def test_a_server_that_never_answers_times_out(local_app: ServeApp) -> None:
    async def hang(_: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.Response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", hang)
    async with AsyncInfisicalClient(
        site_url=await local_app(app),
        timeout=0.3,
        max_retries=0,
        auth=TokenAuth(token="t"),
        project_id="p",
        environment="dev",
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.secrets.list()
        assert client.with_options(timeout=5).closed is False


async def test_html_error_page_and_truncated_json(local_app: ServeApp) -> None:
    async def html(_: web.Request) -> web.Response:
        return web.Response(status=502, text="<html>proxy</html>", content_type="text/html")

    async def truncated(_: web.Request) -> web.Response:
        return web.Response(status=200, text='{"secrets": [', content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v4/secrets", truncated)
    app.router.add_get("/api/v4/secrets/{name}", html)
    async with AsyncInfisicalClient(
        site_url=await local_app(app),
        max_retries=0,
        auth=TokenAuth(token="t"),
        project_id="p",
        environment="dev",
    ) as client:
        with pytest.raises(InternalServerError):
            await client.secrets.get("X")
        with pytest.raises(ResponseValidationError):
            await client.secrets.list()


async def test_response_size_cap(current_server: EmbeddedServer) -> None:
    async with make_client(current_server) as writer:
        await writer.secrets.create("BIG", "x" * 2000)
    async with make_client(current_server, max_response_bytes=1500) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.secrets.list()
        assert "limit" in str(caught.value)


async def test_retries_idempotent_reads_on_503(current_server: EmbeddedServer) -> None:
    server = current_server
    async with make_client(server) as client:
        await client.secrets.list()
        server.control.fail_next(2, status=503, path="^/api/v4/secrets$")
        server.control.reset_counts()
        await client.secrets.list()
        assert server.control.request_count("GET /api/v4/secrets") == 3


def test_from_env_names_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID",
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
        "INFISICAL_TOKEN",
        "INFISICAL_SITE_URL",
        "INFISICAL_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigurationError) as caught:
        AsyncInfisicalClient.from_env()
    assert "INFISICAL_TOKEN" in caught.value.missing
    monkeypatch.setenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_ID", "id")
    with pytest.raises(ConfigurationError) as caught:
        AsyncInfisicalClient.from_env()
    assert caught.value.missing == ("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",)
    monkeypatch.setenv("INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET", "secret")
    monkeypatch.setenv("INFISICAL_API_URL", "https://eu.infisical.com/api")
    client = AsyncInfisicalClient.from_env()
    assert client.site_url == "https://eu.infisical.com"
    assert isinstance(client._state.tokens.strategy, UniversalAuth)


async def test_a_callers_session_is_used_and_never_closed(local_app: ServeApp) -> None:
    seen: list[str] = []

    async def listing(request: web.Request) -> web.Response:
        seen.append(request.headers.get("User-Agent", ""))
        return web.json_response({"secrets": []})

    app = web.Application()
    app.router.add_get("/api/v4/secrets", listing)
    site = await local_app(app)
    async with aiohttp.ClientSession() as session:
        async with AsyncInfisicalClient(
            site_url=site,
            http_session=session,
            auth=TokenAuth(token="t"),
            project_id="p",
            environment="dev",
            headers={"X-Team": "a"},
        ) as client:
            await client.secrets.list()
        assert not session.closed  # ours to use, not ours to close
        assert seen[0].startswith("infisical-async/")
