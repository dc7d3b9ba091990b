"""The client's shape: one state behind every view, class-level namespaces, the public
login protocol, one name per concept, and what a forked child or a lazy import sees."""

from __future__ import annotations

import asyncio
import os
import pydoc
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web

import infisical_async
from infisical_async import (
    AccessToken,
    AsyncInfisicalClient,
    ClientForkedError,
    CloudMetadataError,
    InternalServerError,
    InvalidArgumentError,
    LoginApi,
    SecretUpdate,
)
from infisical_async._serde import structure
from infisical_async.resources import AsyncLeases, AsyncSecrets
from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient
from infisical_sync.resources.secrets import Secrets
from tests.conftest import ServeApp, make_client


async def test_every_view_shares_the_clients_state_and_has_its_own_namespaces(
    current_server: EmbeddedServer,
) -> None:
    async with make_client(current_server) as client:
        view = client.with_options(timeout=7, max_retries=0)
        assert view._state is client._state
        assert view.secrets is not client.secrets
        assert view.secrets._client is view and client.secrets._client is client
        assert view.dynamic_secrets.leases._client is view
        assert view._options.max_retries == 0 and client._options.max_retries is None
        await view.secrets.list()
        # The token the view logged in with is the client's: no second login.
        assert client.auth.access_token is not None
        assert current_server.control.request_count("POST /api/v1/auth/universal-auth/login") == 1


async def test_a_generation_learned_through_a_view_holds_for_the_client() -> None:
    async with EmbeddedServer(compat="2024") as server, make_client(server) as client:
        await client.with_options(timeout=5).secrets.list()
        assert client._state.generations.current("secrets") == "v3"


@pytest.mark.parametrize("call", ["renew", "revoke", "login"])
async def test_auth_calls_through_a_view_take_its_retries(
    current_server: EmbeddedServer, call: str
) -> None:
    info = current_server.info
    route = {"renew": "/renew$", "revoke": "/revoke$", "login": "/universal-auth/login$"}[call]

    async def through(client: AsyncInfisicalClient) -> object:
        if call == "login":
            return await client.auth.universal_auth.login(info.client_id, info.client_secret)
        return await getattr(client.auth, call)()

    async with make_client(current_server, retry_delay=0) as client:
        await client.secrets.list()
        current_server.control.fail_next(1, status=503, path=route, method="POST")
        await through(client)  # the client retries the 503 (the control case)
        if call == "revoke":
            await client.secrets.list()  # a token to revoke again
        current_server.control.fail_next(1, status=503, path=route, method="POST")
        with pytest.raises(InternalServerError):
            await through(client.with_options(max_retries=0))


@pytest.mark.parametrize("bad", [-1, "2", 1.5, None])
async def test_with_options_refuses_the_retries_the_constructor_refuses(
    current_server: EmbeddedServer, bad: object
) -> None:
    with pytest.raises(InvalidArgumentError) as refused:
        make_client(current_server, max_retries=bad)
    assert refused.value.argument == "max_retries"
    async with make_client(current_server) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            client.with_options(max_retries=bad)  # type: ignore[arg-type]
        assert caught.value.argument == "max_retries"
        assert client.with_options(max_retries=0)._options.max_retries == 0


def test_namespaces_are_visible_on_the_classes() -> None:
    assert AsyncInfisicalClient.secrets is AsyncSecrets
    assert InfisicalClient.secrets is Secrets
    assert AsyncInfisicalClient.dynamic_secrets.leases is AsyncLeases
    text = pydoc.render_doc(InfisicalClient.secrets, renderer=pydoc.plaintext)
    assert "batch_update" in text and "Secrets of a project environment" in text


def test_client_settings_are_read_only_and_mirrored_by_the_blocking_client(
    current_server: EmbeddedServer,
) -> None:
    info = current_server.info
    with InfisicalClient(
        site_url=info.site_url + "/api",
        project_id=info.project_id,
        environment="dev",
        secret_path="/app",
    ) as client:
        assert client.site_url == info.site_url
        assert (client.project_id, client.environment, client.secret_path) == (
            info.project_id,
            "dev",
            "/app",
        )
        assert client.project_slug is None
        with pytest.raises(AttributeError):
            client.project_id = "other"  # type: ignore[misc]


def test_the_blocking_client_has_no_http_session_parameter() -> None:
    with pytest.raises(TypeError, match="http_session"):
        InfisicalClient(http_session=object())  # type: ignore[call-arg]
    assert "http_session" not in (InfisicalClient.__doc__ or "")
    assert "http_session" in (AsyncInfisicalClient.__doc__ or "")


def test_the_blocking_keep_says_where_its_callbacks_run() -> None:
    from infisical_sync.resources.leases import Leases

    assert "event-loop thread" in (Leases.keep.__doc__ or "")
    assert "event-loop thread" not in (AsyncLeases.keep.__doc__ or "")


class _LoginThroughTheProtocol:
    """A strategy written against the public LoginApi only."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.logins = 0

    async def login(self, api: LoginApi) -> AccessToken:
        self.logins += 1
        data = await api.post_json(
            "/api/v1/auth/universal-auth/login",
            {"clientId": self.client_id, "clientSecret": self.client_secret},
        )
        return structure(data, AccessToken)


async def test_a_custom_strategy_logs_in_through_the_public_login_api(
    current_server: EmbeddedServer,
) -> None:
    info = current_server.info
    strategy = _LoginThroughTheProtocol(info.client_id, info.client_secret)
    current_server.control.seed({"A": "1"})
    async with make_client(current_server, auth=strategy) as client:
        assert (await client.secrets.get("A")).value == "1"
        current_server.control.expire_all_tokens()
        assert (await client.secrets.get("A")).value == "1"  # rejected token: logs in again
    assert strategy.logins == 2


class _MetadataReader:
    def __init__(self, url: str) -> None:
        self.url = url
        self.seen: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        self.seen = await api.get_metadata(
            self.url, headers={"Metadata": "true"}, what="test metadata service"
        )
        raise RuntimeError("stop after the metadata call")


async def test_metadata_calls_ignore_environment_proxies(
    current_server: EmbeddedServer, local_app: ServeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def token(request: web.Request) -> web.Response:
        assert request.headers["Metadata"] == "true"
        return web.Response(text="metadata-token")

    app = web.Application()
    app.router.add_get("/token", token)
    metadata = await local_app(app)
    # A proxy that refuses every connection: used, it would fail the call.
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    reader = _MetadataReader(metadata + "/token")
    async with make_client(current_server, auth=reader, trust_env=True) as client:
        with pytest.raises(RuntimeError, match="stop after"):
            await client.secrets.list()
    assert reader.seen == "metadata-token"


async def test_an_unreachable_metadata_service_fails_clearly_without_a_chain(
    current_server: EmbeddedServer, local_app: ServeApp
) -> None:
    async def teapot(request: web.Request) -> web.Response:
        return web.Response(status=418, text="no")

    app = web.Application()
    app.router.add_get("/token", teapot)
    url = await local_app(app)
    for target, expected in ((url + "/token", "answered 418"), ("http://127.0.0.1:9/x", "not")):
        async with make_client(current_server, auth=_MetadataReader(target)) as client:
            with pytest.raises(CloudMetadataError, match=expected) as caught:
                await client.secrets.list()
        assert "test metadata service" in str(caught.value)
        assert caught.value.__cause__ is None and caught.value.__context__ is None


async def test_batch_update_takes_python_mode_names(current_server: EmbeddedServer) -> None:
    current_server.control.seed({"A": "1"})
    async with make_client(current_server) as client:
        with pytest.raises(InvalidArgumentError, match="mode"):
            await client.secrets.batch_update(
                [SecretUpdate(key="A", value="2")],
                mode="failOnNotFound",  # type: ignore[arg-type]
            )
        updated = await client.secrets.batch_update(
            [SecretUpdate(key="A", value="2"), SecretUpdate(key="NEW", value="3")],
            mode="ignore",
        )
        assert [s.key for s in updated] == ["A"]
        assert isinstance(updated, tuple)


async def test_folders_default_to_the_clients_secret_path(current_server: EmbeddedServer) -> None:
    async with make_client(current_server) as admin:
        await admin.folders.create("app")
    async with make_client(current_server, secret_path="/app") as client:
        created = await client.folders.create("inner")
        listed = await client.folders.list()
        assert [f.name for f in listed] == [created.name] == ["inner"]
        assert isinstance(listed, tuple)
        assert [f.name for f in await client.folders.list(secret_path="/")] == ["app"]


async def test_kms_decrypt_is_retried_like_a_read(current_server: EmbeddedServer) -> None:
    async with make_client(current_server, retry_delay=0) as client:
        key = await client.kms.keys.create("k1")
        ciphertext = await client.kms.encrypt(key.id, b"hello")
        current_server.control.fail_next(1, status=503, path="/decrypt$", method="POST")
        assert await client.kms.decrypt(key.id, ciphertext) == b"hello"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
async def test_an_async_client_used_in_a_forked_child_says_so(
    current_server: EmbeddedServer,
) -> None:
    async with make_client(current_server) as client:
        await client.secrets.list()
        pid = os.fork()
        if pid == 0:  # child: a fresh loop, the parent's client
            code = 1
            try:
                asyncio.run(client.secrets.list())
            except ClientForkedError:
                code = 0
            except BaseException:
                code = 2
            os._exit(code)
        status = await asyncio.to_thread(os.waitpid, pid, 0)
        assert os.waitstatus_to_exitcode(status[1]) == 0
        await client.secrets.list()  # the parent is unaffected


def _imported_after(code: str) -> set[str]:
    script = (
        "import sys; before = set(sys.modules); "
        + code
        + "; print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return set(out.stdout.split())


def test_importing_the_packages_loads_no_http_stack() -> None:
    for package in ("infisical_async", "infisical_sync"):
        loaded = _imported_after(f"import {package}")
        assert not {m for m in loaded if m == "aiohttp" or m.startswith("aiohttp.")}, package
        assert "infisical_async._client" not in loaded
    loaded = _imported_after("from infisical_async import NotFoundError")
    assert "infisical_async.errors" in loaded and "aiohttp" not in loaded


def test_every_exported_name_resolves_and_is_listed_once() -> None:
    exports: Mapping[str, Any] = infisical_async._EXPORTS
    assert sorted(infisical_async.__all__) == sorted([*exports, "__version__"])
    for name in infisical_async.__all__:
        assert getattr(infisical_async, name) is not None
    import infisical_sync

    for name in infisical_sync.__all__:
        assert getattr(infisical_sync, name) is not None
    with pytest.raises(AttributeError):
        infisical_async.NoSuchThing  # noqa: B018
