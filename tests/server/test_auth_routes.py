"""Machine-identity auth routes of the embedded server, over loopback with plain aiohttp."""

from __future__ import annotations

import asyncio

import aiohttp

from infisical_async.testing import EmbeddedServer

from .conftest import Raw, assert_error

LOGIN = "/api/v1/auth/universal-auth/login"
RENEW = "/api/v1/auth/token/renew"
REVOKE = "/api/v1/auth/token/revoke"


async def test_login_returns_the_contract_fields(raw: Raw) -> None:
    body = await raw.login()
    assert set(body) == {"accessToken", "expiresIn", "accessTokenMaxTTL", "tokenType"}
    assert body["expiresIn"] == 3600
    assert body["accessTokenMaxTTL"] == 86400
    assert body["tokenType"] == "Bearer"
    assert body["accessToken"].count(".") == 2


async def test_login_wrong_secret_is_401(raw: Raw) -> None:
    status, body, headers = await raw.call(
        "POST", LOGIN, token=False, json={"clientId": raw.info.client_id, "clientSecret": "wrong"}
    )
    assert status == 401
    assert_error(
        body,
        status=401,
        error="UnauthorizedError",
        message="Invalid credentials",
        legacy=raw.server.config.compat == "2024",
    )
    if raw.server.config.compat == "2024":  # that server sent no request id at all
        assert "X-Request-Id" not in headers
    else:
        assert headers["X-Request-Id"].startswith("req-")


async def test_login_unknown_client_id(raw: Raw) -> None:
    status, body, _ = await raw.call(
        "POST",
        LOGIN,
        token=False,
        json={"clientId": "00000000-0000-0000-0000-000000000000", "clientSecret": "x"},
    )
    if raw.server.config.compat == "2024":
        assert status == 404
        assert body["message"] == "No identity with specified client ID was found"
    else:
        assert status == 401
        assert body["message"] == "Invalid credentials"


async def test_login_missing_field_is_a_validation_failure(raw: Raw) -> None:
    status, body, _ = await raw.call(
        "POST", LOGIN, token=False, json={"clientId": raw.info.client_id}
    )
    legacy = raw.server.config.compat == "2024"
    assert status == (401 if legacy else 422)
    assert_error(body, status=status, error="ValidationFailure", legacy=legacy)
    assert body["message"] == [
        {
            "code": "invalid_type",
            "expected": "string",
            "received": "undefined",
            "path": ["clientSecret"],
            "message": "Required",
        }
    ]


async def test_login_malformed_json(raw: Raw) -> None:
    status, body, _ = await raw.call("POST", LOGIN, token=False, data='{"clientId": ')
    if raw.server.config.compat == "2024":
        assert (status, body["message"]) == (500, "Something went wrong")
        assert body["error"] == "InternalServerError"
    else:
        assert status == 400
        assert_error(body, status=400, error="BadRequest", legacy=False)


async def test_renew_extends_the_token(raw: Raw) -> None:
    first = raw.token
    status, body, _ = await raw.call("POST", RENEW, token=False, json={"accessToken": first})
    assert status == 200
    assert body["expiresIn"] == 3600
    if raw.server.config.compat == "2024":
        assert body["accessToken"] == first  # the old server hands back the same JWT
    status, _, _ = await raw.call(
        "GET", "/api/v1/workspace/" + raw.info.project_id, token=body["accessToken"]
    )
    assert status == 200


async def test_renew_garbage_token_is_token_error(raw: Raw) -> None:
    status, body, _ = await raw.call("POST", RENEW, token=False, json={"accessToken": "not-a-jwt"})
    assert status == 403
    assert body["error"] == "TokenError"
    assert body["message"].startswith("The provided access token is malformed")


async def test_renew_past_max_ttl_differs_by_generation(compat: str) -> None:
    async with (
        EmbeddedServer(
            compat=compat,
            access_token_ttl=2,  # type: ignore[arg-type]
            access_token_max_ttl=3,
        ) as server,
        aiohttp.ClientSession() as s,
    ):
        api = Raw(server, s)
        await api.login()
        await asyncio.sleep(1.2)  # now + ttl (2s) passes the max TTL (3s)
        status, body, _ = await api.call(
            "POST", RENEW, token=False, json={"accessToken": api.token}
        )
        if compat == "2024":
            # Refused outright, and the still-valid token is deleted.
            assert status == 401
            assert body["message"] == "Failed to renew MI access token past its Max TTL expiration"
            status, _, _ = await api.call("GET", "/api/v1/workspace/" + api.info.project_id)
            assert status == 401
        else:
            assert status == 200
            assert body["expiresIn"] == 1  # capped at the remaining budget


async def test_revoke_then_use_and_revoke_again(raw: Raw) -> None:
    status, body, _ = await raw.call("POST", REVOKE, token=False, json={"accessToken": raw.token})
    assert (status, body) == (200, {"message": "Successfully revoked access token"})
    status, body, _ = await raw.call(
        "GET", raw.v[0], params={raw.v[2]: raw.info.project_id, "environment": "dev"}
    )
    assert (status, body["message"]) == (401, "No identity access token found")
    status, body, _ = await raw.call("POST", REVOKE, token=False, json={"accessToken": raw.token})
    assert status == 401


async def test_missing_and_garbage_bearer(raw: Raw) -> None:
    params = {raw.v[2]: raw.info.project_id, "environment": "dev"}
    status, body, _ = await raw.call("GET", raw.v[0], params=params, token=False)
    assert (status, body["message"], body["error"]) == (401, "Token missing", "UnauthorizedError")
    status, body, _ = await raw.call("GET", raw.v[0], params=params, token="garbage.token.value")
    assert (status, body["message"], body["error"]) == (403, "invalid token", "TokenError")


async def test_expired_token_answers_by_generation(raw: Raw) -> None:
    raw.server.control.expire_all_tokens()
    status, body, _ = await raw.call(
        "GET", raw.v[0], params={raw.v[2]: raw.info.project_id, "environment": "dev"}
    )
    if raw.server.config.compat == "2024":
        assert status == 401  # per-TTL expiry lives in the database there
    else:
        assert (status, body["error"]) == (403, "TokenError")
        assert body["message"] == "Your token has expired. Please re-authenticate."


async def test_token_auth_static_token(raw: Raw) -> None:
    token = raw.server.control.create_access_token()
    status, _, _ = await raw.call(
        "GET", raw.v[0], token=token, params={raw.v[2]: raw.info.project_id, "environment": "dev"}
    )
    assert status == 200
    status, body, _ = await raw.call(
        "POST", f"/api/v1/auth/token-auth/identities/{raw.info.identity_id}/tokens", json={}
    )
    assert status == 200 and body["tokenData"]["identityId"] == raw.info.identity_id
