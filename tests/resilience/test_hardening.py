"""Hostile input, cancellation, redirects, TLS and log redaction."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infisical_async import (
    AccessToken,
    APIConnectionError,
    APIStatusError,
    AsyncInfisicalClient,
    DynamicSecret,
    Lease,
    ResponseValidationError,
    Secret,
    SecretList,
    TokenAuth,
)
from infisical_async._serde import structure
from infisical_async._transport import error_from_response
from infisical_async.testing import EmbeddedServer

from ..client.test_dynamic_secrets import pg_provider
from ..conftest import ServeApp, make_client

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
secretish = st.fixed_dictionaries(
    {"secretKey": json_values, "secretValue": json_values},
    optional={
        "version": json_values,
        "tags": json_values,
        "createdAt": json_values,
        "secretMetadata": json_values,
        "id": json_values,
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=json_values | secretish,
    model=st.sampled_from([Secret, SecretList, Lease, AccessToken, DynamicSecret]),
)
def test_parsing_random_json_raises_only_documented_errors(data: Any, model: type) -> None:
    try:
        structure(data, model)
    except ResponseValidationError as exc:
        assert "$" in str(exc) or "unexpected" in str(exc)


@settings(max_examples=300)
@given(
    status=st.integers(min_value=400, max_value=599),
    body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()),
    retry_after=st.none() | st.text(max_size=20),
)
def test_error_mapping_of_random_bodies(status: int, body: bytes, retry_after: str | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    error = error_from_response(status, body, headers, method="GET", path="/x")
    assert isinstance(error, APIStatusError)
    assert error.status_code == status and isinstance(error.message, str)
    str(error), repr(error)


def token_client(site: str, **options: Any) -> AsyncInfisicalClient:
    return AsyncInfisicalClient(
        site_url=site,
        auth=TokenAuth(token="tok"),
        project_id="p",
        environment="dev",
        max_retries=0,
        **options,
    )


async def test_wrong_types_and_odd_statuses(local_app: ServeApp) -> None:
    async def wrong_types(_: web.Request) -> web.Response:
        return web.json_response(
            {"secret": {"secretKey": 5, "secretValue": ["x"], "version": "two"}}
        )

    async def teapot(_: web.Request) -> web.Response:
        return web.Response(status=418, text="short and stout")

    async def missing(_: web.Request) -> web.Response:
        return web.json_response({"nothing": True})

    app = web.Application()
    app.router.add_get("/api/v4/secrets/WRONG", wrong_types)
    app.router.add_get("/api/v4/secrets/TEAPOT", teapot)
    app.router.add_get("/api/v4/secrets/MISSING", missing)
    async with token_client(await local_app(app)) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.secrets.get("WRONG")
        assert "$.version" in str(caught.value) and "two" not in str(caught.value)
        with pytest.raises(APIStatusError) as status_error:
            await client.secrets.get("TEAPOT")
        assert type(status_error.value) is APIStatusError
        assert status_error.value.status_code == 418
        with pytest.raises(ResponseValidationError) as caught:
            await client.secrets.get("MISSING")
        assert "`secret`" in str(caught.value)


async def test_redirects_are_not_followed(local_app: ServeApp) -> None:
    elsewhere: list[str] = []

    async def record(request: web.Request) -> web.Response:
        elsewhere.append(request.headers.get("Authorization", ""))
        return web.json_response({"secrets": []})

    other = web.Application()
    other.router.add_get("/{tail:.*}", record)
    other_site = await local_app(other)

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(other_site + "/api/v4/secrets")

    app = web.Application()
    app.router.add_get("/api/v4/secrets", redirect)
    async with token_client(await local_app(app)) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await client.secrets.list()
    assert "redirect" in str(caught.value)
    assert elsewhere == []  # the token never reached the other host


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


async def test_tls_is_verified_by_default(self_signed: tuple[Path, Path]) -> None:
    cert, key = self_signed
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def listing(_: web.Request) -> web.Response:
        return web.json_response({"secrets": []})

    app = web.Application()
    app.router.add_get("/api/v4/secrets", listing)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    url = f"https://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with token_client(url) as client:
            with pytest.raises(APIConnectionError):
                await client.secrets.list()  # untrusted certificate: refused
        trusting = ssl.create_default_context(cafile=str(cert))
        async with token_client(url, ssl=trusting) as client:
            assert len(await client.secrets.list()) == 0  # custom CA: accepted
    finally:
        await runner.cleanup()


def test_plain_http_to_a_remote_host_warns(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="infisical_async")
    AsyncInfisicalClient(site_url="http://infisical.example.com")
    AsyncInfisicalClient(site_url="http://127.0.0.1:8080")
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "plain http" in warnings[0]


async def test_cancellation_at_any_point_leaves_the_client_usable(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, retry_delay=1.0) as client:
        await client.secrets.create("K", "v")

        async def cancel_after(delay: float) -> None:
            task = asyncio.ensure_future(client.secrets.get("K"))
            await asyncio.sleep(delay)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert (await client.secrets.get("K")).value == "v"

        server.control.delay_next(1, seconds=1.0, path="^/api/v4/secrets/")
        await cancel_after(0.1)  # mid-request
        server.control.fail_next(1, status=503, path="^/api/v4/secrets/")
        await cancel_after(0.2)  # mid retry sleep (the backoff is ~1 s)
        server.control.expire_all_tokens()
        server.control.delay_next(1, seconds=1.0, path="universal-auth")
        await cancel_after(0.2)  # mid re-login
        connector = client._state.transport.session().connector
        assert connector is not None and not connector._acquired


async def test_debug_logs_of_a_full_flow_carry_no_secret(
    databases: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret_value = "do-not-log-this-secret-value"
    async with EmbeddedServer() as server, make_client(server) as client:
        info = server.info
        await client.secrets.create("LOGGED", secret_value)
        await client.secrets.list()
        await client.secrets.get("LOGGED")
        server.control.fail_next(1, status=503, path="^/api/v4/secrets/")
        await client.secrets.get("LOGGED")  # a retry, logged at DEBUG
        await client.dynamic_secrets.create(
            "pg", provider=pg_provider(databases["postgres"]), default_ttl="1h"
        )
        lease = await client.dynamic_secrets.leases.create("pg")
        await client.dynamic_secrets.leases.renew(lease.id, ttl="2h")
        await client.dynamic_secrets.leases.delete(lease.id)
        token = client.auth.access_token
        await client.auth.renew()
        renewed = client.auth.access_token
        await client.auth.revoke()
    creds = lease.credentials or {}
    needles = [
        secret_value,
        info.client_secret,
        token,
        renewed,
        creds["DB_PASSWORD"],
        "pg-admin-test-password",
    ]
    text = caplog.text
    assert "retrying GET /api/v4/secrets/LOGGED after 503" in text
    for needle in needles:
        assert needle and needle not in text
