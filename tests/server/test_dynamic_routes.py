"""Dynamic secrets and leases against real PostgreSQL and Redis, with plain aiohttp."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from redis import asyncio as aioredis
from redis.exceptions import AuthenticationError as RedisAuthError

from infisical_async.testing import EmbeddedServer

from .conftest import Raw, assert_error

PG_CREATE = (
    "CREATE ROLE \"{{username}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
)
PG_REVOKE = 'DROP ROLE IF EXISTS "{{username}}";'
PG_RENEW = "ALTER ROLE \"{{username}}\" VALID UNTIL '{{expiration}}';"


def pg_inputs(dsn: str) -> dict[str, Any]:
    url = urlsplit(dsn)
    return {
        "client": "postgres",
        "host": url.hostname,
        "port": url.port,
        "database": url.path.lstrip("/"),
        "username": url.username,
        "password": url.password,
        "creationStatement": PG_CREATE,
        "revocationStatement": PG_REVOKE,
        "renewStatement": PG_RENEW,
    }


def redis_inputs(redis_url: str) -> dict[str, Any]:
    url = urlsplit(redis_url)
    return {
        "host": url.hostname,
        "port": url.port,
        "username": url.username,
        "password": url.password,
        "creationStatement": "ACL SETUSER {{username}} on >{{password}} ~* &* +@all",
        "revocationStatement": "ACL DELUSER {{username}}",
    }


def location(raw: Raw, path: str = "/") -> dict[str, str]:
    return {"projectSlug": raw.info.project_slug, "environmentSlug": "dev", "path": path}


async def pg_login_works(dsn: str, user: str, password: str) -> bool:
    url = urlsplit(dsn)
    try:
        conn = await asyncpg.connect(
            host=url.hostname,
            port=url.port,
            user=user,
            password=password,
            database="postgres",
            timeout=5,
        )
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
        return False
    await conn.close()
    return True


async def pg_role_exists(dsn: str, role: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role))
    finally:
        await conn.close()


@pytest.fixture
async def short_raw(databases: dict[str, str]) -> Any:
    async with (
        EmbeddedServer(allow_short_ttl=True, sweep_interval=0.1) as server,
        aiohttp.ClientSession() as session,
    ):
        api = Raw(server, session)
        await api.login()
        yield api


async def test_postgres_lease_lifecycle(raw: Raw, databases: dict[str, str]) -> None:
    dsn = databases["postgres"]
    legacy = raw.server.config.compat == "2024"
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets",
        json={
            **location(raw),
            "name": "pg-dyn",
            "defaultTTL": "1h",
            "maxTTL": "2h",
            "provider": {"type": "sql-database", "inputs": pg_inputs(dsn)},
        },
    )
    assert status == 200, body
    assert body["dynamicSecret"]["defaultTTL"] == "1h" and body["dynamicSecret"]["maxTTL"] == "2h"

    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "pg-dyn", "ttl": "30m"},
    )
    assert status == 200, body
    lease, data = body["lease"], body["data"]
    assert set(data) == {"DB_USERNAME", "DB_PASSWORD"}
    assert lease["externalEntityId"] == data["DB_USERNAME"] and lease["status"] is None
    assert await pg_login_works(dsn, data["DB_USERNAME"], data["DB_PASSWORD"])

    status, body, _ = await raw.call(
        "POST",
        f"/api/v1/dynamic-secrets/leases/{lease['id']}/renew",
        json={**location(raw), "ttl": "1h"},
    )
    assert status == 200 and "data" not in body
    assert body["lease"]["expireAt"] > lease["expireAt"]  # added to the current expiry

    status, body, _ = await raw.call(
        "POST",
        f"/api/v1/dynamic-secrets/leases/{lease['id']}/renew",
        json={**location(raw), "ttl": "23h"},
    )
    assert status == 400
    assert body["message"] == (
        "TTL cannot be larger than max ttl"
        if legacy
        else "The requested renewal would exceed the maximum allowed lease "
        "duration. Please choose a shorter TTL"
    )

    status, body, _ = await raw.call(
        "GET", f"/api/v1/dynamic-secrets/leases/{lease['id']}", params=location(raw)
    )
    assert status == 200 and body["lease"]["dynamicSecret"]["name"] == "pg-dyn"
    status, body, _ = await raw.call(
        "GET", "/api/v1/dynamic-secrets/pg-dyn/leases", params=location(raw)
    )
    assert [item["id"] for item in body["leases"]] == [lease["id"]]

    status, body, _ = await raw.call(
        "DELETE", f"/api/v1/dynamic-secrets/leases/{lease['id']}", json=location(raw)
    )
    assert status == 200 and body["lease"]["id"] == lease["id"]
    assert not await pg_login_works(dsn, data["DB_USERNAME"], data["DB_PASSWORD"])
    assert not await pg_role_exists(dsn, data["DB_USERNAME"])

    status, body, _ = await raw.call(
        "DELETE", f"/api/v1/dynamic-secrets/leases/{lease['id']}", json=location(raw)
    )
    assert status == 404
    assert_error(body, status=404, error="NotFound", legacy=legacy)

    status, body, _ = await raw.call("DELETE", "/api/v1/dynamic-secrets/pg-dyn", json=location(raw))
    assert status == 200


async def test_dynamic_secret_errors(raw: Raw, databases: dict[str, str]) -> None:
    legacy = raw.server.config.compat == "2024"
    inputs = pg_inputs(databases["postgres"])
    payload = {
        **location(raw),
        "name": "pg",
        "defaultTTL": "10s",
        "maxTTL": "2h",
        "provider": {"type": "sql-database", "inputs": inputs},
    }
    status, body, _ = await raw.call("POST", "/api/v1/dynamic-secrets", json=payload)
    assert status == (401 if legacy else 422)
    assert body["message"] == [
        {"code": "custom", "message": "TTL must be a greater than 1min", "path": ["defaultTTL"]}
    ]
    status, body, _ = await raw.call(
        "POST", "/api/v1/dynamic-secrets", json={**payload, "defaultTTL": "11y"}
    )
    # The 2024 server capped dynamic-secret TTLs at one day.
    too_long = "TTL must be less than a day" if legacy else "TTL must be less than 10 years"
    assert body["message"][0]["message"] == too_long

    payload["defaultTTL"] = "1h"
    status, _, _ = await raw.call("POST", "/api/v1/dynamic-secrets", json=payload)
    assert status == 200
    status, body, _ = await raw.call("POST", "/api/v1/dynamic-secrets", json=payload)
    assert (status, body["message"]) == (
        400,
        "Provided dynamic secret already exist under the folder",
    )

    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "pg", "ttl": "3h"},
    )
    assert (status, body["message"]) == (400, "TTL cannot be larger than max TTL")
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "nope"},
    )
    assert status == 404
    status, body, _ = await raw.call(
        "GET", "/api/v1/dynamic-secrets/pg", params={**location(raw), "projectSlug": "other"}
    )
    if legacy:  # recorded: the 2024 server fails the slug lookup with a 500
        assert (status, body["error"]) == (500, "Find project by slug")
    else:
        assert status == 404

    bad = {
        **payload,
        "name": "pg2",
        "provider": {"type": "sql-database", "inputs": {**inputs, "password": "wrong-password"}},
    }
    status, body, _ = await raw.call("POST", "/api/v1/dynamic-secrets", json=bad)
    assert status == 400 and body["error"] == "BadRequest"

    status, body, _ = await raw.call("GET", "/api/v1/dynamic-secrets/pg", params=location(raw))
    assert body["dynamicSecret"]["inputs"]["creationStatement"] == PG_CREATE
    status, body, _ = await raw.call("GET", "/api/v1/dynamic-secrets", params=location(raw))
    assert [d["name"] for d in body["dynamicSecrets"]] == ["pg"]
    assert "inputs" not in body["dynamicSecrets"][0]


async def test_sweeper_revokes_expired_postgres_lease(
    short_raw: Raw, databases: dict[str, str]
) -> None:
    raw = short_raw
    dsn = databases["postgres"]
    status, _, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets",
        json={
            **location(raw),
            "name": "pg-short",
            "defaultTTL": "1s",
            "provider": {"type": "sql-database", "inputs": pg_inputs(dsn)},
        },
    )
    assert status == 200
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "pg-short"},
    )
    user = body["data"]["DB_USERNAME"]
    assert await pg_role_exists(dsn, user)
    for _ in range(50):
        await asyncio.sleep(0.1)
        if not await pg_role_exists(dsn, user):
            break
    assert not await pg_role_exists(dsn, user)
    status, _, _ = await raw.call(
        "GET", f"/api/v1/dynamic-secrets/leases/{body['lease']['id']}", params=location(raw)
    )
    assert status == 404
    assert raw.server.control.active_leases == 0


async def redis_login_works(redis_url: str, user: str, password: str) -> bool:
    url = urlsplit(redis_url)
    client = aioredis.Redis(
        host=url.hostname or "", port=url.port or 6379, username=user, password=password
    )
    try:
        return bool(await client.ping())
    except RedisAuthError:
        return False
    finally:
        await client.aclose()


async def test_redis_lease_lifecycle_and_sweeper(short_raw: Raw, databases: dict[str, str]) -> None:
    raw = short_raw
    redis_url = databases["redis"]
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets",
        json={
            **location(raw),
            "name": "cache",
            "defaultTTL": "1h",
            "provider": {"type": "redis", "inputs": redis_inputs(redis_url)},
        },
    )
    assert status == 200, body
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "cache"},
    )
    data = body["data"]
    assert len(data["DB_PASSWORD"]) == 64
    assert await redis_login_works(redis_url, data["DB_USERNAME"], data["DB_PASSWORD"])
    status, _, _ = await raw.call(
        "DELETE", f"/api/v1/dynamic-secrets/leases/{body['lease']['id']}", json=location(raw)
    )
    assert status == 200
    assert not await redis_login_works(redis_url, data["DB_USERNAME"], data["DB_PASSWORD"])

    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "cache", "ttl": "1s"},
    )
    data = body["data"]
    assert await redis_login_works(redis_url, data["DB_USERNAME"], data["DB_PASSWORD"])
    for _ in range(50):
        await asyncio.sleep(0.1)
        if raw.server.control.active_leases == 0:
            break
    assert not await redis_login_works(redis_url, data["DB_USERNAME"], data["DB_PASSWORD"])


async def test_failed_revoke_keeps_the_lease_unless_forced(
    short_raw: Raw, databases: dict[str, str]
) -> None:
    raw = short_raw
    inputs = {
        **pg_inputs(databases["postgres"]),
        "revocationStatement": 'DROP ROLE "{{username}}"; SELECT 1/0;',
    }
    await raw.call(
        "POST",
        "/api/v1/dynamic-secrets",
        json={
            **location(raw),
            "name": "flaky",
            "defaultTTL": "1h",
            "provider": {"type": "sql-database", "inputs": inputs},
        },
    )
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/dynamic-secrets/leases",
        json={**location(raw), "dynamicSecretName": "flaky"},
    )
    lease_id = body["lease"]["id"]
    status, body, _ = await raw.call(
        "DELETE", f"/api/v1/dynamic-secrets/leases/{lease_id}", json=location(raw)
    )
    assert status == 200 and body["lease"]["status"] == "Failed to delete"
    assert "division by zero" in body["lease"]["statusDetails"]
    status, body, _ = await raw.call(
        "DELETE",
        f"/api/v1/dynamic-secrets/leases/{lease_id}",
        json={**location(raw), "isForced": True},
    )
    assert status == 200
    assert raw.server.control.active_leases == 0
