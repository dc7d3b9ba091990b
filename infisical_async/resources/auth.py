"""``client.auth``: log in, renew, revoke, or set a token by hand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._auth import AuthStrategy, UniversalAuth
from .._constants import DEFAULT_K8S_TOKEN_PATH
from .._namespace import Namespace
from .._validation import require_str
from ..models import AccessToken
from ._base import AsyncResource

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient
    from ..auth_methods import TokenSource

# The login methods (auth_methods) are loaded by the first call that uses one of them:
# a client logging in with the credentials it was built with never needs them.

__all__ = [
    "AsyncAuth",
    "AsyncAwsIamLogin",
    "AsyncAzureLogin",
    "AsyncGcpIamLogin",
    "AsyncGcpIdTokenLogin",
    "AsyncJwtLogin",
    "AsyncKubernetesLogin",
    "AsyncLdapLogin",
    "AsyncOidcLogin",
    "AsyncUniversalAuthLogin",
]


async def _login_with(client: AsyncInfisicalClient, strategy: AuthStrategy) -> AccessToken:
    """Log in now and keep ``strategy`` for every later login (as if passed as ``auth=``)."""
    return await client._state.tokens.login_with(strategy, client._deadline(), client._options)


class AsyncUniversalAuthLogin(AsyncResource):
    """``client.auth.universal_auth``."""

    async def login(
        self, client_id: str, client_secret: str, *, organization_slug: str | None = None
    ) -> AccessToken:
        """Log in with a machine identity's Universal Auth credentials.

        The client keeps the credentials and uses them to log in again whenever the token
        can no longer be renewed, exactly as if they had been passed as ``auth=``.

        Raises:
            AuthenticationError: wrong credentials.
            NotFoundError: unknown client id (older servers).
        """
        return await _login_with(
            self._client,
            UniversalAuth(
                client_id=require_str(client_id, "client_id"),
                client_secret=require_str(client_secret, "client_secret"),
                organization_slug=organization_slug,
            ),
        )


class AsyncAwsIamLogin(AsyncResource):
    """``client.auth.aws_iam``."""

    async def login(
        self,
        identity_id: str,
        *,
        region: str | None = None,
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with the AWS credentials of this environment (a signed STS request).

        Raises:
            ConfigurationError: botocore is missing, or no AWS credentials were found.
            AuthenticationError: the identity does not accept this AWS principal.
        """
        from ..auth_methods import AwsIamAuth

        return await _login_with(
            self._client,
            AwsIamAuth(identity_id=identity_id, region=region, organization_slug=organization_slug),
        )


class AsyncKubernetesLogin(AsyncResource):
    """``client.auth.kubernetes``."""

    async def login(
        self,
        identity_id: str,
        *,
        token_path: str = DEFAULT_K8S_TOKEN_PATH,
        token: str | None = None,
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with the pod's service-account token (re-read at every later login)."""
        from ..auth_methods import KubernetesAuth

        return await _login_with(
            self._client,
            KubernetesAuth(
                identity_id=identity_id,
                token_path=token_path,
                token=token,
                organization_slug=organization_slug,
            ),
        )


class AsyncGcpIdTokenLogin(AsyncResource):
    """``client.auth.gcp_id_token``."""

    async def login(
        self,
        identity_id: str,
        *,
        metadata_url: str | None = None,
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with an ID token from the GCP metadata server.

        Raises:
            CloudMetadataError: the metadata server is unreachable (not running on GCP).
        """
        from ..auth_methods import GcpIdTokenAuth

        return await _login_with(
            self._client,
            GcpIdTokenAuth(
                identity_id=identity_id,
                metadata_url=metadata_url,
                organization_slug=organization_slug,
            ),
        )


class AsyncGcpIamLogin(AsyncResource):
    """``client.auth.gcp_iam``."""

    async def login(
        self,
        identity_id: str,
        *,
        service_account_key: str | Mapping[str, Any],
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with a JWT signed by a service-account key (a key file path or its JSON)."""
        from ..auth_methods import GcpIamAuth

        return await _login_with(
            self._client,
            GcpIamAuth(
                identity_id=identity_id,
                service_account_key=service_account_key,
                organization_slug=organization_slug,
            ),
        )


class AsyncAzureLogin(AsyncResource):
    """``client.auth.azure``."""

    async def login(
        self,
        identity_id: str,
        *,
        resource: str = "https://management.azure.com/",
        managed_identity_client_id: str | None = None,
        metadata_url: str = "http://169.254.169.254",
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with a managed-identity token from the Azure instance metadata service.

        Raises:
            CloudMetadataError: the metadata service is unreachable (not running in Azure).
        """
        from ..auth_methods import AzureAuth

        return await _login_with(
            self._client,
            AzureAuth(
                identity_id=identity_id,
                resource=resource,
                managed_identity_client_id=managed_identity_client_id,
                metadata_url=metadata_url,
                organization_slug=organization_slug,
            ),
        )


class AsyncOidcLogin(AsyncResource):
    """``client.auth.oidc``."""

    async def login(
        self, identity_id: str, *, token: TokenSource, organization_slug: str | None = None
    ) -> AccessToken:
        """Log in with an OIDC ID token (a string, a file path, or a callable giving one)."""
        from ..auth_methods import OidcAuth

        return await _login_with(
            self._client,
            OidcAuth(identity_id=identity_id, token=token, organization_slug=organization_slug),
        )


class AsyncJwtLogin(AsyncResource):
    """``client.auth.jwt``."""

    async def login(
        self, identity_id: str, *, token: TokenSource, organization_slug: str | None = None
    ) -> AccessToken:
        """Log in with a JWT (a string, a file path, or a callable giving one)."""
        from ..auth_methods import JwtAuth

        return await _login_with(
            self._client,
            JwtAuth(identity_id=identity_id, token=token, organization_slug=organization_slug),
        )


class AsyncLdapLogin(AsyncResource):
    """``client.auth.ldap``."""

    async def login(
        self,
        identity_id: str,
        *,
        username: str,
        password: str,
        organization_slug: str | None = None,
    ) -> AccessToken:
        """Log in with an LDAP username and password."""
        from ..auth_methods import LdapAuth

        return await _login_with(
            self._client,
            LdapAuth(
                identity_id=identity_id,
                username=username,
                password=password,
                organization_slug=organization_slug,
            ),
        )


class AsyncAuth(AsyncResource):
    """``client.auth``: explicit control of the access token (usually not needed)."""

    universal_auth = Namespace(AsyncUniversalAuthLogin)
    aws_iam = Namespace(AsyncAwsIamLogin)
    kubernetes = Namespace(AsyncKubernetesLogin)
    gcp_id_token = Namespace(AsyncGcpIdTokenLogin)
    gcp_iam = Namespace(AsyncGcpIamLogin)
    azure = Namespace(AsyncAzureLogin)
    oidc = Namespace(AsyncOidcLogin)
    jwt = Namespace(AsyncJwtLogin)
    ldap = Namespace(AsyncLdapLogin)

    async def renew(self) -> AccessToken:
        """Renew the current access token now and store what the server returns.

        Raises:
            NotAuthenticatedError: there is no token to renew.
            AuthenticationError: the server refused (expired, revoked, past max TTL).
        """
        return await self._state.tokens.renew_now(self._client._deadline(), self._client._options)

    async def revoke(self) -> None:
        """Revoke the current access token on the server and forget it.

        Later calls log in again if the client has credentials.
        """
        await self._state.tokens.revoke_now(self._client._deadline(), self._client._options)

    def set_access_token(self, access_token: str) -> None:
        """Use this access token (without the ``Bearer`` prefix) from now on."""
        self._state.tokens.set_token(require_str(access_token, "access_token"))

    @property
    def access_token(self) -> str | None:
        """The token the client currently sends, if any."""
        return self._state.tokens.current_token
