"""``client.auth``: log in, renew, revoke, or set a token by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._auth import RENEW_PATH, REVOKE_PATH, UniversalAuth
from .._retry import RetryMode
from .._serde import structure
from .._validation import require_str
from ..errors import NotAuthenticatedError
from ..models import AccessToken
from ._base import AsyncResource

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient

__all__ = ["AsyncAuth", "AsyncUniversalAuthLogin"]


class AsyncUniversalAuthLogin(AsyncResource):
    """``client.auth.universal_auth``."""

    async def login(self, client_id: str, client_secret: str) -> AccessToken:
        """Log in with a machine identity's Universal Auth credentials.

        The client keeps the credentials and uses them to log in again whenever the token
        can no longer be renewed, exactly as if they had been passed as ``auth=``.

        Raises:
            AuthenticationError: wrong credentials.
            NotFoundError: unknown client id (older servers).
        """
        strategy = UniversalAuth(
            client_id=require_str(client_id, "client_id"),
            client_secret=require_str(client_secret, "client_secret"),
        )
        tokens = self._client._tokens
        access = await strategy.login(self._client._transport)
        tokens.set_strategy(strategy)
        tokens.store(access, renewed=False)
        return access


class AsyncAuth(AsyncResource):
    """``client.auth``: explicit control of the access token (usually not needed)."""

    universal_auth: AsyncUniversalAuthLogin

    def __init__(self, client: AsyncInfisicalClient) -> None:
        super().__init__(client)
        self.universal_auth = AsyncUniversalAuthLogin(client)

    async def renew(self) -> AccessToken:
        """Renew the current access token now and store what the server returns.

        Raises:
            NotAuthenticatedError: there is no token to renew.
            AuthenticationError: the server refused (expired, revoked, past max TTL).
        """
        tokens = self._client._tokens
        token = tokens.current_token
        if token is None:
            raise NotAuthenticatedError("there is no access token to renew")
        data = await self._client._transport.request(
            "POST", RENEW_PATH, json={"accessToken": token}, mode=RetryMode.IDEMPOTENT
        )
        access = structure(data, AccessToken)
        tokens.store(access, renewed=True)
        return access

    async def revoke(self) -> None:
        """Revoke the current access token on the server and forget it.

        Later calls log in again if the client has credentials.
        """
        tokens = self._client._tokens
        token = tokens.current_token
        if token is None:
            raise NotAuthenticatedError("there is no access token to revoke")
        await self._client._transport.request(
            "POST", REVOKE_PATH, json={"accessToken": token}, mode=RetryMode.IDEMPOTENT
        )
        tokens.clear()

    def set_access_token(self, access_token: str) -> None:
        """Use this access token (without the ``Bearer`` prefix) from now on."""
        self._client._tokens.set_token(require_str(access_token, "access_token"))

    @property
    def access_token(self) -> str | None:
        """The token the client currently sends, if any."""
        return self._client._tokens.current_token
