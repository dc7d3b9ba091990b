"""Pools rebuilt on rotation (real asyncpg, real PostgreSQL) and the health probe."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from typing import Any

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    ConfigurationError,
    InternalServerError,
    InvalidArgumentError,
    NotAuthenticatedError,
)
from infisical_async.integrations import InfisicalApp, PoolSpec, asyncpg_pool, check_health
from infisical_async.testing import EmbeddedServer

from ..client.test_dynamic_secrets import pg_provider
from ..conftest import make_client
from ..server.test_dynamic_routes import pg_role_exists
from ..test_examples import address_only


@pytest.fixture
async def fast() -> AsyncIterator[EmbeddedServer]:
    async with EmbeddedServer(allow_short_ttl=True, sweep_interval=0.1) as server:
        yield server


def fast_client(server: EmbeddedServer) -> AsyncInfisicalClient:
    return make_client(server, min_ttl=timedelta(seconds=1))


async def wait_for(predicate: Any, seconds: float = 8.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_asyncpg_pool_is_rebuilt_when_the_lease_rotates(
    fast: EmbeddedServer, databases: dict[str, str]
) -> None:
    dsn = databases["postgres"]
    async with fast_client(fast) as admin:
        await admin.secrets.create("DATABASE_URL", address_only(dsn))
        await admin.dynamic_secrets.create("pg", provider=pg_provider(dsn), default_ttl="2s")
    app = InfisicalApp(
        lambda: fast_client(fast),
        secrets_path="/",
        pools={
            "db": asyncpg_pool(
                "pg",
                ttl="2s",
                dsn_secret="DATABASE_URL",
                grace_period=timedelta(seconds=0.2),
                min_size=1,
                max_size=2,
            )
        },
    )
    async with app.running() as state:
        db = state.pools["db"]
        first_pool = db.pool
        first_user = await first_pool.fetchval("SELECT current_user")
        assert first_user == db.held.credentials["DB_USERNAME"]
        report = await state.health()
        assert report["status"] == "ok" and report["leases"]["db"]["status"] == "ok"
        assert 0 < report["leases"]["db"]["expires_in"] <= 2
        # The lease is lost behind the keeper's back: it leases new credentials, and the
        # pool is rebuilt with them.
        async with fast_client(fast) as admin:
            await admin.dynamic_secrets.leases.delete(db.held.lease.id)
        await wait_for(lambda: db.rebuilds == 1)
        second_user = await db.pool.fetchval("SELECT current_user")
        assert second_user == db.held.credentials["DB_USERNAME"] != first_user
        await wait_for(first_pool.is_closing)  # the old pool is closed in the background
        assert (await state.health())["leases"]["db"]["rotations"] == 1
    assert fast.control.active_leases == 0
    for user in (first_user, second_user):
        assert not await pg_role_exists(dsn, user)


async def test_a_missing_dsn_secret_names_the_apps_secrets_path() -> None:
    spec = asyncpg_pool("pg", ttl="1m", dsn_secret="DATABASE_URL", secret_path="/dynamic")
    with pytest.raises(ConfigurationError) as caught:
        await spec.build({"DB_USERNAME": "u", "DB_PASSWORD": "p"}, {})
    # Not the pool's own secret_path=, which places the dynamic secret.
    assert "the app's secrets_path=" in str(caught.value)


class FakePool:
    def __init__(self, user: str) -> None:
        self.user = user
        self.closed = False


async def test_a_failed_rebuild_keeps_the_old_pool_and_fails_health(
    fast: EmbeddedServer, databases: dict[str, str]
) -> None:
    async with fast_client(fast) as admin:
        await admin.dynamic_secrets.create(
            "otp", provider=pg_provider(databases["postgres"]), default_ttl="2s"
        )
    builds: list[Mapping[str, Any]] = []

    async def build(credentials: Mapping[str, Any], secrets: Mapping[str, str]) -> FakePool:
        builds.append(credentials)
        if len(builds) > 1:
            raise OSError("database unreachable")
        return FakePool("first")

    async def close(pool: FakePool) -> None:
        pool.closed = True

    spec = PoolSpec(dynamic_secret="otp", ttl="2s", build=build, close=close)
    async with InfisicalApp(lambda: fast_client(fast), pools={"p": spec}).running() as state:
        holder = state.pools["p"]
        first = holder.pool
        async with fast_client(fast) as admin:
            await admin.dynamic_secrets.leases.delete(holder.held.lease.id)
        await wait_for(lambda: holder.last_error is not None)
        assert holder.pool is first and not first.closed and holder.rebuilds == 0
        report = await state.health()
        assert report["status"] == "fail"
        assert report["leases"]["p"]["pool_error"] == "OSError"
    assert first.closed


async def test_health_reports_an_unreachable_server(fast: EmbeddedServer) -> None:
    async with fast_client(fast) as client:
        assert (await check_health(client))["status"] == "ok"
        fast.control.fail_next(1, status=503, path="^/api/status$")
        report = await check_health(client)
        assert report["status"] == "fail"
        assert report["infisical"]["status"] == "fail"
        assert report["infisical"]["error"].startswith("InternalServerError")
        fast.control.delay_next(1, seconds=1.0, path="^/api/status$")
        report = await check_health(client, timeout=0.2)
        assert report["infisical"]["error"].startswith("APITimeoutError")
    async with fast_client(fast) as client:  # no token yet: the login itself hangs
        fast.control.delay_next(1, seconds=1.0, path="/login$")
        started = asyncio.get_running_loop().time()
        report = await check_health(client, timeout=0.2)
        assert asyncio.get_running_loop().time() - started < 0.8
        assert report["infisical"]["error"].startswith("APITimeoutError")
        assert fast.info.client_secret not in str(report)
    async with AsyncInfisicalClient(site_url=fast.info.site_url) as client:
        with pytest.raises(NotAuthenticatedError):  # no credentials: not healthy
            await client.ping()
        report = await check_health(client)
        assert report["infisical"]["error"].startswith("NotAuthenticatedError")


async def test_ping_logs_in_once_and_measures_the_round_trip(fast: EmbeddedServer) -> None:
    async with fast_client(fast) as client:
        seconds = await client.ping()
        await client.ping()
        assert 0 < seconds < 5
        assert fast.control.request_count("GET /api/status") == 2
        assert fast.control.request_count("POST /api/v1/auth/universal-auth/login") == 1


def test_bad_arguments_are_named() -> None:
    with pytest.raises(InvalidArgumentError, match="dsn"):
        asyncpg_pool("pg", ttl="1h")
    with pytest.raises(InvalidArgumentError, match="settings"):
        InfisicalApp(settings=dict)
    with pytest.raises(InvalidArgumentError, match="health_timeout"):
        InfisicalApp(health_timeout=0)


def test_the_core_never_imports_the_frameworks() -> None:
    code = (
        "import sys, infisical_async, infisical_async.integrations, infisical_sync\n"
        "bad = [m for m in ('fastapi', 'starlette', 'asyncpg') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_blocking_client_pings_too() -> None:
    from ..sync.conftest import make_sync_client

    with EmbeddedServer().run_in_thread() as server, make_sync_client(server) as client:
        assert 0 < client.ping() < 5
        server.control.fail_next(3, status=503, path="^/api/status$")
        with pytest.raises(InternalServerError):
            client.with_options(max_retries=0).ping()
