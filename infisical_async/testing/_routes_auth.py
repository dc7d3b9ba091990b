"""Machine-identity auth: universal-auth login, token renew/revoke, token-auth tokens."""

from __future__ import annotations

from aiohttp import web

from ._context import Context, context_of
from ._state import TokenRecord, wall_time
from ._wire import ApiError, F, validate

__all__ = ["add_auth_routes", "token_response"]

_LOGIN = {"clientId": F("str", required=True), "clientSecret": F("str", required=True)}
_TOKEN_BODY = {"accessToken": F("str", required=True)}


def token_response(ctx: Context, record: TokenRecord, expires_in: int) -> dict[str, object]:
    if ctx.legacy:
        # 2024 servers sign exp = the max TTL once, enforce the per-TTL expiry in the
        # database, and hand the same JWT back on renew.
        if record.jwt is None:
            exp = record.created_at + record.max_ttl if record.max_ttl else None
            record.jwt = ctx.state.sign_token(record, exp)
        token = record.jwt
    else:
        token = ctx.state.sign_token(record, wall_time() + expires_in if expires_in else None)
    return {
        "accessToken": token,
        "expiresIn": expires_in,
        "accessTokenMaxTTL": record.max_ttl,
        "tokenType": "Bearer",
    }


_MALFORMED = (
    "The provided access token is malformed. Please use a valid token or generate "
    "a new one and try again."
)
_EXPIRED = "Your token has expired. Please re-authenticate."


async def login(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    body = validate(await ctx.body(request), _LOGIN)
    identity = state.identity
    if body["clientId"] != identity.client_id:
        if ctx.legacy:
            raise ApiError(404, "No identity with specified client ID was found", "NotFound")
        raise ApiError(401, "Invalid credentials", "UnauthorizedError")
    if body["clientSecret"] != identity.client_secret:
        raise ApiError(401, "Invalid credentials", "UnauthorizedError")
    record = state.issue_token(
        identity, ttl=identity.access_token_ttl, max_ttl=identity.access_token_max_ttl
    )
    return ctx.json(token_response(ctx, record, record.ttl))


def renew_legacy(record: TokenRecord | None, exp: float | None, now: float) -> int:
    """Renew as the 2024 server did (return the new ``expiresIn``): the per-TTL expiry
    lives in its database, and a token renewed past its max TTL is deleted."""
    if exp is not None and now >= exp:
        raise ApiError(403, _EXPIRED, "TokenError")
    if record is None or record.revoked:
        raise ApiError(401, "No identity access token found", "UnauthorizedError")
    if record.force_expired or (record.ttl and now >= record.last_renewed_at + record.ttl):
        record.revoked = True
        raise ApiError(
            401, "Failed to renew MI access token due to TTL expiration", "UnauthorizedError"
        )
    if record.max_ttl and now + record.ttl > record.created_at + record.max_ttl:
        # The old server deletes a still-valid token when asked to renew past max TTL.
        record.revoked = True
        raise ApiError(
            401,
            "Failed to renew MI access token past its Max TTL expiration",
            "UnauthorizedError",
        )
    record.last_renewed_at = now
    return record.ttl


def renew_current(record: TokenRecord | None, exp: float | None, now: float) -> int:
    """Renew as current servers do (return the new ``expiresIn``, capped by the max TTL)."""
    if record is not None and record.force_expired:
        raise ApiError(403, _EXPIRED, "TokenError")
    if exp is not None and now >= exp:
        raise ApiError(403, _EXPIRED, "TokenError")
    if record is None or record.revoked:
        raise ApiError(401, "Cannot renew revoked or unknown access token", "UnauthorizedError")
    expires_in = record.ttl
    if record.max_ttl:
        remaining = int(record.created_at + record.max_ttl - now)
        if remaining <= 0:
            raise ApiError(
                401,
                "Cannot renew: identity access token has reached its max TTL",
                "UnauthorizedError",
            )
        expires_in = min(expires_in, remaining) if expires_in else remaining
    record.last_renewed_at = now
    return expires_in


async def renew(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = validate(await ctx.body(request), _TOKEN_BODY)
    verified = ctx.state.verify_token(body["accessToken"])
    if verified is None:
        raise ApiError(403, _MALFORMED, "TokenError")
    token_id, exp = verified
    record = ctx.state.tokens.get(token_id)
    renew_as = renew_legacy if ctx.legacy else renew_current
    expires_in = renew_as(record, exp, wall_time())
    assert record is not None  # both raise for an unknown token
    return ctx.json(token_response(ctx, record, expires_in))


async def revoke(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = validate(await ctx.body(request), _TOKEN_BODY)
    verified = ctx.state.verify_token(body["accessToken"])
    if verified is None:
        raise ApiError(403, "invalid token", "TokenError")
    token_id, exp = verified
    record = ctx.state.tokens.get(token_id)
    if not ctx.legacy and exp is not None and wall_time() >= exp:
        raise ApiError(403, _EXPIRED, "TokenError")
    if record is None or record.revoked:
        raise ApiError(401, "No identity access token found", "UnauthorizedError")
    record.revoked = True
    return ctx.json({"message": "Successfully revoked access token"})


async def create_token_auth_token(request: web.Request) -> web.Response:
    ctx = context_of(request)
    state = ctx.state
    ctx.authenticate(request)
    if request.match_info["identityId"] != state.identity.id:
        raise ApiError(404, "Identity not found", "NotFound")
    await ctx.body(request)
    identity = state.identity
    record = state.issue_token(
        identity, ttl=identity.access_token_ttl, max_ttl=identity.access_token_max_ttl
    )
    payload = token_response(ctx, record, record.ttl)
    payload["tokenData"] = {
        "id": record.id,
        "identityId": identity.id,
        "accessTokenTTL": record.ttl,
        "accessTokenMaxTTL": record.max_ttl,
    }
    return ctx.json(payload)


def add_auth_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/auth/universal-auth/login", login)
    app.router.add_post("/api/v1/auth/token/renew", renew)
    app.router.add_post("/api/v1/auth/token/revoke", revoke)
    app.router.add_post(
        "/api/v1/auth/token-auth/identities/{identityId}/tokens", create_token_auth_token
    )
