"""Machine-identity login methods beyond Universal Auth.

Each is an ``auth=`` strategy: the client calls its ``login`` whenever it needs a token, so
every re-login fetches fresh credentials (the Kubernetes token file is read again, the OIDC
or JWT token source is called again, cloud credentials are resolved again). The optional
``organization_slug`` scopes the login to a sub-organization; it is sent under both names
servers have used (``organizationSlug`` and ``subOrganizationName``), since servers ignore
keys they do not know.

AWS needs ``botocore`` (extra ``infisical-async[aws]``) and GCP IAM needs ``cryptography``
(extra ``infisical-async[gcp]``); both are imported only when used.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import aiohttp
import attrs

from ._auth import LoginApi
from ._constants import DEFAULT_K8S_TOKEN_PATH
from ._serde import structure
from .errors import CloudMetadataError, ConfigurationError, InvalidArgumentError
from .models import AccessToken

__all__ = [
    "AwsIamAuth",
    "AzureAuth",
    "GcpIamAuth",
    "GcpIdTokenAuth",
    "JwtAuth",
    "KubernetesAuth",
    "LdapAuth",
    "OidcAuth",
    "TokenSource",
]

TokenSource = str | os.PathLike[str] | Callable[[], "str | Awaitable[str]"]
"""A token as a string, a file to read at every login, or a (sync or async) callable."""

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_METADATA_TIMEOUT = aiohttp.ClientTimeout(total=3, connect=1)


def _check_identity(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError("identity_id", "must be a non-empty string")
    return value.strip()


def _login_body(identity_id: str, organization_slug: str | None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"identityId": _check_identity(identity_id), **fields}
    if organization_slug is not None:
        if not (1 <= len(organization_slug) <= 64 and _SLUG.match(organization_slug)):
            raise InvalidArgumentError(
                "organization_slug", "must be a slug: lowercase letters, digits, '-'"
            )
        body["organizationSlug"] = body["subOrganizationName"] = organization_slug
    return body


async def _post_login(api: LoginApi, method: str, body: dict[str, Any]) -> AccessToken:
    return structure(await api.post_json(f"/api/v1/auth/{method}/login", body), AccessToken)


async def resolve_token(source: TokenSource, argument: str) -> str:
    """Read a token source now (files and callables are read again at every login)."""
    if isinstance(source, str):
        token = source
    elif isinstance(source, os.PathLike):
        path = Path(source)
        try:
            token = await asyncio.to_thread(path.read_text)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the token file {path}: {exc.strerror or type(exc).__name__}"
            ) from None
    elif callable(source):
        produced = source()
        token = await produced if inspect.isawaitable(produced) else produced
    else:
        raise InvalidArgumentError(argument, "expected a string, a path or a callable")
    if not isinstance(token, str) or not token.strip():
        raise InvalidArgumentError(argument, "the token source gave an empty token")
    return token.strip()


@attrs.frozen(kw_only=True)
class KubernetesAuth:
    """Kubernetes service-account token, re-read from ``token_path`` at every login.

    Projected tokens rotate; replaying a stored copy would lock the client out for good.
    """

    identity_id: str
    token_path: str | os.PathLike[str] = DEFAULT_K8S_TOKEN_PATH
    token: str | None = attrs.field(default=None, repr=False)
    """A fixed token instead of the file (only for tokens that never rotate)."""
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        source: TokenSource = self.token if self.token is not None else Path(self.token_path)
        jwt = await resolve_token(source, "token")
        return await _post_login(
            api,
            "kubernetes-auth",
            _login_body(self.identity_id, self.organization_slug, jwt=jwt),
        )


@attrs.frozen(kw_only=True)
class _TokenSourceLogin:
    """A login that sends a token read from ``token`` at every login."""

    method: ClassVar[str]
    identity_id: str
    token: TokenSource = attrs.field(repr=False)
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        jwt = await resolve_token(self.token, "token")
        return await _post_login(
            api, self.method, _login_body(self.identity_id, self.organization_slug, jwt=jwt)
        )


@attrs.frozen(kw_only=True)
class OidcAuth(_TokenSourceLogin):
    """An OIDC ID token (GitHub Actions, GitLab CI...), fetched from ``token`` at every login."""

    method: ClassVar[str] = "oidc-auth"


@attrs.frozen(kw_only=True)
class JwtAuth(_TokenSourceLogin):
    """A JWT checked against the identity's JWKS or public keys; ``token`` read per login."""

    method: ClassVar[str] = "jwt-auth"


@attrs.frozen(kw_only=True)
class LdapAuth:
    """LDAP username and password (``identity_id`` must be a UUID)."""

    identity_id: str
    username: str
    password: str = attrs.field(repr=False)
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        try:
            uuid.UUID(self.identity_id)
        except (ValueError, TypeError, AttributeError):
            raise InvalidArgumentError(
                "identity_id", "LDAP auth needs the identity's UUID"
            ) from None
        if not self.username.strip():
            raise InvalidArgumentError("username", "must be a non-empty string")
        if not self.password:
            raise InvalidArgumentError("password", "must be a non-empty string")
        return await _post_login(
            api,
            "ldap-auth",
            _login_body(
                self.identity_id,
                self.organization_slug,
                username=self.username,
                password=self.password,
            ),
        )


@attrs.frozen(kw_only=True)
class GcpIdTokenAuth:
    """GCP ID token from the metadata server (GCE, GKE, Cloud Run...), audience = identity.

    ``metadata_url`` defaults to ``$GCE_METADATA_HOST`` or ``metadata.google.internal``.
    """

    identity_id: str
    metadata_url: str | None = None
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        base = self.metadata_url or "http://" + os.environ.get(
            "GCE_METADATA_HOST", "metadata.google.internal"
        )
        query = urlencode({"audience": _check_identity(self.identity_id), "format": "full"})
        url = (
            f"{base.rstrip('/')}/computeMetadata/v1/instance/service-accounts/default/"
            f"identity?{query}"
        )
        jwt = await api.get_metadata(
            url, headers={"Metadata-Flavor": "Google"}, what="GCP metadata server"
        )
        return await _post_login(
            api,
            "gcp-auth",
            _login_body(self.identity_id, self.organization_slug, jwt=jwt.strip()),
        )


@attrs.frozen(kw_only=True)
class GcpIamAuth:
    """A JWT signed with a service-account key (``sub`` = the account, ``aud`` = identity).

    ``service_account_key`` is the key file's path or its parsed JSON.
    """

    identity_id: str
    service_account_key: str | os.PathLike[str] | Mapping[str, Any] = attrs.field(repr=False)
    organization_slug: str | None = None
    lifetime_seconds: int = 900

    async def login(self, api: LoginApi) -> AccessToken:
        key = self.service_account_key
        if not isinstance(key, Mapping):
            path = Path(key)
            parsed: Any = None
            with contextlib.suppress(OSError, ValueError):
                parsed = json.loads(await asyncio.to_thread(path.read_text))
            if not isinstance(parsed, Mapping):
                # Outside the except block: a JSON error quotes the file, private key included.
                raise ConfigurationError(f"cannot read the service-account key {path}")
            key = parsed
        jwt = sign_service_account_jwt(
            key, audience=_check_identity(self.identity_id), lifetime=self.lifetime_seconds
        )
        return await _post_login(
            api, "gcp-auth", _login_body(self.identity_id, self.organization_slug, jwt=jwt)
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign_service_account_jwt(key: Mapping[str, Any], *, audience: str, lifetime: int) -> str:
    """RS256-sign ``{sub: client_email, aud: audience, exp}`` with the account's private key."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa
    except ImportError:
        raise ConfigurationError(
            "GCP IAM auth needs cryptography: pip install 'infisical-async[gcp]'"
        ) from None
    email, private_key = key.get("client_email"), key.get("private_key")
    if not isinstance(email, str) or not isinstance(private_key, str):
        raise InvalidArgumentError(
            "service_account_key", "needs client_email and private_key fields"
        )
    signer = serialization.load_pem_private_key(private_key.encode(), password=None)
    if not isinstance(signer, rsa.RSAPrivateKey):
        raise InvalidArgumentError("service_account_key", "private_key must be an RSA key")
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": key.get("private_key_id")}
    claims = {"iss": email, "sub": email, "aud": audience, "iat": now, "exp": now + lifetime}
    signing_input = (
        _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
    )
    signature = signer.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(signature)


@attrs.frozen(kw_only=True)
class AzureAuth:
    """Azure managed identity: a token from the instance metadata service (IMDS).

    ``resource`` is the audience configured on the identity; ``managed_identity_client_id``
    picks a user-assigned identity. ``metadata_url`` overrides the IMDS address.
    """

    identity_id: str
    resource: str = "https://management.azure.com/"
    managed_identity_client_id: str | None = None
    metadata_url: str = "http://169.254.169.254"
    organization_slug: str | None = None

    async def login(self, api: LoginApi) -> AccessToken:
        params = {"api-version": "2018-02-01", "resource": self.resource}
        if self.managed_identity_client_id:
            params["client_id"] = self.managed_identity_client_id
        url = f"{self.metadata_url.rstrip('/')}/metadata/identity/oauth2/token?{urlencode(params)}"
        text = await api.get_metadata(
            url, headers={"Metadata": "true"}, what="Azure instance metadata service"
        )
        try:
            jwt = json.loads(text)["access_token"]
        except (ValueError, KeyError, TypeError):
            jwt = None
        if not isinstance(jwt, str):
            # Raised outside the except block: the JSON error (kept as __context__ even
            # with "from None") quotes the answer, and with it the managed-identity token.
            raise CloudMetadataError(
                "the Azure instance metadata service answered without an access_token"
            )
        return await _post_login(
            api, "azure-auth", _login_body(self.identity_id, self.organization_slug, jwt=jwt)
        )


@attrs.frozen(kw_only=True)
class AwsIamAuth:
    """AWS IAM: a SigV4-signed ``sts:GetCallerIdentity`` request, from the usual AWS
    credential chain (environment, config files, instance or task roles), resolved again
    at every login. ``region`` defaults to the AWS configuration, then ``us-east-1``.
    """

    identity_id: str
    region: str | None = None
    organization_slug: str | None = None
    botocore_session: Any = attrs.field(default=None, repr=False, eq=False)

    async def login(self, api: LoginApi) -> AccessToken:
        headers, body = await asyncio.to_thread(self.signed_request)
        return await _post_login(
            api,
            "aws-auth",
            _login_body(
                self.identity_id,
                self.organization_slug,
                iamHttpRequestMethod="POST",
                iamRequestBody=base64.b64encode(body.encode()).decode(),
                iamRequestHeaders=base64.b64encode(json.dumps(headers).encode()).decode(),
            ),
        )

    def signed_request(self) -> tuple[dict[str, str], str]:
        """Headers and body of the signed STS request (blocking: may query instance roles)."""
        try:
            import botocore.session
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
        except ImportError:
            raise ConfigurationError(
                "AWS IAM auth needs botocore: pip install 'infisical-async[aws]'"
            ) from None
        session = self.botocore_session or botocore.session.get_session()
        credentials = session.get_credentials()
        if credentials is None:
            raise ConfigurationError(
                "no AWS credentials found (environment variables, "
                "config files or an instance/task role)"
            )
        region = self.region or session.get_config_variable("region") or "us-east-1"
        host = f"sts.{region}.amazonaws.com"
        body = "Action=GetCallerIdentity&Version=2011-06-15"
        request = AWSRequest(
            method="POST",
            url=f"https://{host}/",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "Host": host,
            },
        )
        SigV4Auth(credentials.get_frozen_credentials(), "sts", region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "content-length"}, body
