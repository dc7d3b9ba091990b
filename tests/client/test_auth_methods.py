"""Every machine-identity login method, over loopback against the embedded server.

Cloud metadata services are played by local aiohttp apps: no test reaches a real cloud.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import botocore.session
import pytest
from aiohttp import web
from aioresponses import aioresponses

from infisical_async import (
    AccessToken,
    APITimeoutError,
    AuthenticationError,
    CloudMetadataError,
    ConfigurationError,
    InvalidArgumentError,
    LoginApi,
    NotFoundError,
)
from infisical_async.auth_methods import (
    AwsIamAuth,
    AzureAuth,
    GcpIamAuth,
    GcpIdTokenAuth,
    JwtAuth,
    KubernetesAuth,
    LdapAuth,
    OidcAuth,
)
from infisical_async.testing import EmbeddedServer
from infisical_async.testing.jwt_keys import SigningKey

from ..conftest import ServeApp, make_client

AKID, SECRET_KEY = "AKIAEXAMPLE123", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def route(method: str) -> str:
    return f"POST /api/v1/auth/{method}-auth/login"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate(kid="k1")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def aws_session(secret: str = SECRET_KEY) -> Any:
    session = botocore.session.Session()
    session.set_credentials(AKID, secret)
    session.set_config_variable("region", "eu-west-1")
    return session


async def test_aws_iam_signs_a_request_the_server_can_verify(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    server.control.configure_aws_auth(access_key_id=AKID, secret_access_key=SECRET_KEY)
    identity = server.info.identity_id
    strategy = AwsIamAuth(identity_id=identity, botocore_session=aws_session())
    headers, body = strategy.signed_request()
    assert body == "Action=GetCallerIdentity&Version=2011-06-15"
    assert headers["Host"] == "sts.eu-west-1.amazonaws.com"
    assert (
        headers["Authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AKID}/")
        and "/eu-west-1/sts/aws4_request" in headers["Authorization"]
    )
    assert "X-Amz-Date" in headers and "Content-Length" not in headers
    async with make_client(server, auth=strategy) as client:
        await client.secrets.list()
        server.control.expire_all_tokens()
        await client.secrets.list()  # re-login signs a fresh request
    assert server.control.request_count(route("aws")) == 2


async def test_aws_iam_reads_the_standard_credential_chain(
    current_server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    current_server.control.configure_aws_auth(access_key_id=AKID, secret_access_key=SECRET_KEY)
    async with make_client(current_server) as client:
        token = await client.auth.aws_iam.login(current_server.info.identity_id, region="us-west-2")
        assert token.expires_in > 0
        await client.secrets.list()


async def test_aws_iam_refusals(current_server: EmbeddedServer) -> None:
    server = current_server
    identity = server.info.identity_id
    async with make_client(
        server, auth=AwsIamAuth(identity_id=identity, botocore_session=aws_session())
    ) as c:
        with pytest.raises(NotFoundError) as caught:  # AWS auth not configured
            await c.secrets.list()
        assert "did you configure AWS auth" in caught.value.message
        server.control.configure_aws_auth(access_key_id=AKID, secret_access_key="other")
        with pytest.raises(AuthenticationError):  # the signature does not verify
            await c.secrets.list()
        server.control.configure_aws_auth(
            access_key_id=AKID,
            secret_access_key=SECRET_KEY,
            allowed_principal_arns=["arn:aws:iam::*:role/ci"],
        )
        with pytest.raises(AuthenticationError) as caught:
            await c.secrets.list()
        assert "principal ARN not allowed" in caught.value.message
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.info.site_url + "/api/v1/auth/aws-auth/login",
            json={
                "identityId": identity,
                "iamRequestBody": base64.b64encode(b"x").decode(),
                "iamRequestHeaders": base64.b64encode(json.dumps({}).encode()).decode(),
            },
        ) as resp,
    ):
        assert resp.status == 400 and (await resp.json())["message"] == "Invalid AWS region"


async def test_kubernetes_rereads_the_rotated_token_file(
    current_server: EmbeddedServer, tmp_path: Path
) -> None:
    server = current_server
    token_file = tmp_path / "token"
    token_file.write_text("projected-token-1\n")
    server.control.configure_kubernetes_auth(valid_tokens=["projected-token-1"])
    auth = KubernetesAuth(identity_id=server.info.identity_id, token_path=token_file)
    async with make_client(server, auth=auth) as client:
        await client.secrets.list()
        token_file.write_text("projected-token-2\n")  # kubelet rotated it
        server.control.configure_kubernetes_auth(valid_tokens=["projected-token-2"])
        server.control.expire_all_tokens()
        await client.secrets.list()  # a stored copy of token 1 would be refused now
        assert server.control.request_count(route("kubernetes")) == 2
        token_file.write_text("not-a-valid-token")
        server.control.expire_all_tokens()
        with pytest.raises(AuthenticationError):
            await client.secrets.list()


async def test_gcp_id_token_from_the_metadata_server(
    current_server: EmbeddedServer,
    key: SigningKey,
    local_app: ServeApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = current_server
    seen: list[dict[str, str]] = []

    async def identity(request: web.Request) -> web.Response:
        if request.headers.get("Metadata-Flavor") != "Google":
            return web.Response(status=403)
        seen.append(dict(request.query))
        return web.Response(
            text=key.mint(
                {
                    "aud": request.query["audience"],
                    "iss": "https://accounts.google.com",
                    "email": "vm@proj.iam.gserviceaccount.com",
                }
            )
        )

    app = web.Application()
    app.router.add_get("/computeMetadata/v1/instance/service-accounts/default/identity", identity)
    metadata = await local_app(app)
    server.control.configure_gcp_auth(
        public_keys=[key.public_pem], allowed_emails=["*@proj.iam.gserviceaccount.com"]
    )
    monkeypatch.setenv("GCE_METADATA_HOST", metadata.removeprefix("http://"))
    async with make_client(
        server, auth=GcpIdTokenAuth(identity_id=server.info.identity_id)
    ) as client:
        await client.secrets.list()
    assert seen == [{"audience": server.info.identity_id, "format": "full"}]
    server.control.configure_gcp_auth(public_keys=[SigningKey.generate().public_pem])
    async with make_client(
        server, auth=GcpIdTokenAuth(identity_id=server.info.identity_id, metadata_url=metadata)
    ) as client:
        with pytest.raises(AuthenticationError):  # signed by a key Google did not use
            await client.secrets.list()


async def test_metadata_services_unreachable_fail_fast_and_clearly(
    current_server: EmbeddedServer,
) -> None:
    identity = current_server.info.identity_id
    for strategy in (
        GcpIdTokenAuth(identity_id=identity, metadata_url=closed_port_url()),
        AzureAuth(identity_id=identity, metadata_url=closed_port_url()),
    ):
        async with make_client(current_server, auth=strategy) as client:
            started = time.monotonic()
            with pytest.raises(CloudMetadataError) as caught:
                await client.secrets.list()
            assert time.monotonic() - started < 3.5
            assert "is this running in that cloud" in str(caught.value)


async def test_gcp_iam_signs_with_the_service_account_key(
    current_server: EmbeddedServer, key: SigningKey, tmp_path: Path
) -> None:
    server = current_server
    account = key.service_account_key("sdk@proj-1.iam.gserviceaccount.com")
    key_file = tmp_path / "sa.json"
    key_file.write_text(json.dumps(account))
    server.control.configure_gcp_auth(public_keys=[key.public_pem], type="iam")
    for source in (account, str(key_file)):
        async with make_client(
            server, auth=GcpIamAuth(identity_id=server.info.identity_id, service_account_key=source)
        ) as client:
            await client.secrets.list()
    stranger = SigningKey.generate().service_account_key("x@proj-1.iam.gserviceaccount.com")
    async with make_client(
        server, auth=GcpIamAuth(identity_id=server.info.identity_id, service_account_key=stranger)
    ) as client:
        with pytest.raises(AuthenticationError):
            await client.secrets.list()


async def test_azure_managed_identity(
    current_server: EmbeddedServer,
    key: SigningKey,
    local_app: ServeApp,
) -> None:
    server = current_server

    async def token(request: web.Request) -> web.Response:
        if request.headers.get("Metadata") != "true":
            return web.Response(status=400)
        assert request.query["api-version"] == "2018-02-01"
        return web.json_response(
            {"access_token": key.mint({"aud": request.query["resource"]}), "token_type": "Bearer"}
        )

    app = web.Application()
    app.router.add_get("/metadata/identity/oauth2/token", token)
    imds = await local_app(app)
    server.control.configure_azure_auth(
        public_keys=[key.public_pem], resource="https://vault.azure.net"
    )
    async with make_client(server) as client:
        await client.auth.azure.login(
            server.info.identity_id, metadata_url=imds, resource="https://vault.azure.net"
        )
        await client.secrets.list()
        with pytest.raises(AuthenticationError):  # a token for another audience
            await client.auth.azure.login(server.info.identity_id, metadata_url=imds)


async def test_oidc_calls_its_token_source_at_every_login(
    current_server: EmbeddedServer, key: SigningKey
) -> None:
    server = current_server
    server.control.configure_oidc_auth(
        public_keys=[key.public_pem],
        audience="infisical",
        issuer="https://token.actions.githubusercontent.com",
        subject="repo:acme/*",
    )
    calls: list[int] = []

    async def github_token() -> str:
        calls.append(1)
        return key.mint(
            {
                "aud": "infisical",
                "sub": "repo:acme/app:ref:refs/heads/main",
                "iss": "https://token.actions.githubusercontent.com",
            }
        )

    async with make_client(
        server, auth=OidcAuth(identity_id=server.info.identity_id, token=github_token)
    ) as client:
        await client.secrets.list()
        server.control.expire_all_tokens()
        await client.secrets.list()
    assert len(calls) == 2
    wrong = key.mint({"aud": "someone-else", "sub": "repo:acme/app"})
    async with make_client(
        server, auth=OidcAuth(identity_id=server.info.identity_id, token=wrong)
    ) as client:
        with pytest.raises(AuthenticationError):
            await client.secrets.list()


async def test_jwt_from_a_file(
    current_server: EmbeddedServer, key: SigningKey, tmp_path: Path
) -> None:
    server = current_server
    server.control.configure_jwt_auth(public_keys=[key.public_pem])
    token_file = tmp_path / "jwt"
    token_file.write_text(key.mint({"sub": "batch-job"}))
    async with make_client(
        server, auth=JwtAuth(identity_id=server.info.identity_id, token=token_file)
    ) as client:
        await client.secrets.list()
    token_file.write_text("not.a.jwt")
    async with make_client(
        server, auth=JwtAuth(identity_id=server.info.identity_id, token=token_file)
    ) as client:
        with pytest.raises(AuthenticationError):
            await client.secrets.list()


async def test_ldap(current_server: EmbeddedServer) -> None:
    server = current_server
    server.control.configure_ldap_auth(users={"alice": "correct horse"})
    identity = server.info.identity_id
    async with make_client(
        server, auth=LdapAuth(identity_id=identity, username="alice", password="correct horse")
    ) as client:
        await client.secrets.list()
    async with make_client(
        server, auth=LdapAuth(identity_id=identity, username="alice", password="wrong")
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.secrets.list()
        assert "wrong" not in str(caught.value)
    async with make_client(
        server, auth=LdapAuth(identity_id="not-a-uuid", username="a", password="b")
    ) as client:
        with pytest.raises(InvalidArgumentError) as invalid:
            await client.secrets.list()
        assert invalid.value.argument == "identity_id"
    assert server.control.request_count(route("ldap")) == 2


async def test_organization_slug_is_sent_under_both_names(mock_http: aioresponses) -> None:
    from infisical_async import AsyncInfisicalClient

    mock_http.post(
        "http://infisical.test/api/v1/auth/oidc-auth/login",
        payload={
            "accessToken": "t",
            "expiresIn": 60,
            "accessTokenMaxTTL": 60,
            "tokenType": "Bearer",
        },
    )
    async with AsyncInfisicalClient(site_url="http://infisical.test", max_retries=0) as c:
        await c.auth.oidc.login("id-1", token="jwt-value", organization_slug="team-a")
        with pytest.raises(InvalidArgumentError) as caught:
            await c.auth.oidc.login("id-1", token="jwt-value", organization_slug="Team A")
        assert caught.value.argument == "organization_slug"
    sent = next(iter(mock_http.requests.values()))[0].kwargs["json"]
    assert sent == {
        "identityId": "id-1",
        "jwt": "jwt-value",
        "organizationSlug": "team-a",
        "subOrganizationName": "team-a",
    }


def test_reprs_hide_credentials(key: SigningKey) -> None:
    account = key.service_account_key("a@p.iam.gserviceaccount.com")
    for strategy, secret in (
        (LdapAuth(identity_id="i", username="u", password="hunter2"), "hunter2"),
        (OidcAuth(identity_id="i", token="tok.en.value"), "tok.en.value"),
        (KubernetesAuth(identity_id="i", token="k8s-token"), "k8s-token"),
        (GcpIamAuth(identity_id="i", service_account_key=account), "PRIVATE KEY"),
    ):
        assert secret not in repr(strategy)


class MetadataAfterTheDeadline:
    """A login whose earlier steps used up its deadline before it asks a metadata service."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.outcome: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future()
        )

    async def login(self, api: LoginApi) -> AccessToken:
        await asyncio.sleep(0.3)
        try:
            await api.get_metadata(self.url, headers={}, what="test metadata service")
        except BaseException as exc:
            self.outcome.set_result(exc)
            raise
        self.outcome.set_result(None)
        raise RuntimeError("the metadata service never answers")


async def test_a_metadata_call_past_the_login_deadline_fails_at_once(
    current_server: EmbeddedServer,
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    blackhole = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = blackhole.sockets[0].getsockname()[1]
    strategy = MetadataAfterTheDeadline(f"http://127.0.0.1:{port}/token")
    try:
        async with make_client(current_server, auth=strategy, timeout=0.2) as client:
            with pytest.raises(APITimeoutError):
                await client.secrets.list()
            # A zero budget would be no timeout at all: the login, and every call waiting
            # for it, would hang for good.
            failure = await asyncio.wait_for(asyncio.shield(strategy.outcome), 2.0)
        assert isinstance(failure, CloudMetadataError), failure
        assert "deadline" in str(failure)
    finally:
        blackhole.close()


class ReadMetadata:
    def __init__(self, url: str) -> None:
        self.url = url

    async def login(self, api: LoginApi) -> AccessToken:
        await api.get_metadata(self.url, headers={}, what="test metadata service")
        raise RuntimeError("unreachable")


async def test_metadata_errors_name_the_host_without_url_credentials(
    current_server: EmbeddedServer,
) -> None:
    host_port = closed_port_url().removeprefix("http://")
    strategy = ReadMetadata(f"http://user:hunter2@{host_port}/token")
    async with make_client(current_server, auth=strategy) as client:
        with pytest.raises(CloudMetadataError) as caught:
            await client.secrets.list()
    assert host_port in str(caught.value)
    assert "hunter2" not in str(caught.value) and "user" not in str(caught.value)


def chained(exc: BaseException) -> str:
    """Everything an error keeps reachable: its traceback text and its chain's attributes."""
    seen = "".join(traceback.format_exception(exc))
    link: BaseException | None = exc
    while link is not None:
        seen += repr(vars(link)) + repr(link.args)
        link = link.__cause__ or link.__context__
    return seen


async def test_a_broken_azure_answer_keeps_no_token_in_the_error(
    current_server: EmbeddedServer, local_app: ServeApp
) -> None:
    token = "eyJ0eXAiOiJKV1Qi.MANAGED-IDENTITY-TOKEN"

    async def imds(request: web.Request) -> web.Response:
        # A 200 whose JSON is cut short (a proxy, a truncated read), token included.
        return web.Response(text='{"access_token": "' + token + '", "expires_in": ')

    app = web.Application()
    app.router.add_get("/metadata/identity/oauth2/token", imds)
    strategy = AzureAuth(
        identity_id=current_server.info.identity_id, metadata_url=await local_app(app)
    )
    async with make_client(current_server, auth=strategy) as client:
        with pytest.raises(CloudMetadataError) as caught:
            await client.secrets.list()
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert token not in chained(caught.value)


async def test_an_unreadable_service_account_key_file_is_not_quoted(
    current_server: EmbeddedServer, tmp_path: Path
) -> None:
    private = "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
    key_file = tmp_path / "sa.json"
    key_file.write_text('{"private_key": "' + private + '", "client_email": ')  # cut short
    strategy = GcpIamAuth(identity_id=current_server.info.identity_id, service_account_key=key_file)
    async with make_client(current_server, auth=strategy) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.secrets.list()
    assert caught.value.__context__ is None and caught.value.__cause__ is None
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in chained(caught.value)


class PostTo:
    def __init__(self, path: str) -> None:
        self.path = path

    async def login(self, api: LoginApi) -> AccessToken:
        await api.post_json(self.path, {"clientId": "id", "clientSecret": "s3cr3t"})
        raise RuntimeError("a test login: never gets this far")


@pytest.mark.parametrize(
    "path",
    [
        "@{other}/capture",  # the site URL's host becomes userinfo
        ".{other}/capture",  # no leading slash: extends the site's host name
        ":{port}/capture",  # no leading slash: another port
        "//{other}/capture",  # a network-path reference
        "/capture?to=@{other}",
        "http://{other}/capture",
    ],
)
async def test_post_json_sends_only_to_a_route_of_the_site(
    current_server: EmbeddedServer, local_app: ServeApp, path: str
) -> None:
    seen: list[Any] = []

    async def capture(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", capture)
    other = (await local_app(app)).removeprefix("http://")
    route_ = path.format(other=other, port=other.rsplit(":", 1)[1])
    async with make_client(current_server, auth=PostTo(route_), max_retries=0) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            await client.secrets.list()
    assert caught.value.argument == "path"
    assert not seen, "the login's credentials went to another host"
