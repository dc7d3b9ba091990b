"""Dynamic secrets, leases and the lease keeper against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    BadRequestError,
    GenericProvider,
    InvalidArgumentError,
    Lease,
    LeaseRevocationError,
    NotFoundError,
    RedisProvider,
    SqlDatabaseProvider,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client
from ..server.test_dynamic_routes import (
    PG_CREATE,
    PG_RENEW,
    PG_REVOKE,
    pg_login_works,
    pg_role_exists,
    redis_login_works,
)


def pg_provider(dsn: str, **overrides: str) -> SqlDatabaseProvider:
    url = urlsplit(dsn)
    options = {
        "creation_statement": PG_CREATE,
        "revocation_statement": PG_REVOKE,
        "renew_statement": PG_RENEW,
        **overrides,
    }
    return SqlDatabaseProvider(
        client="postgres",
        host=url.hostname or "",
        port=url.port or 5432,
        database=url.path.lstrip("/"),
        username=url.username or "",
        password=url.password or "",
        **options,
    )


@pytest.fixture
async def fast() -> AsyncIterator[tuple[EmbeddedServer, AsyncInfisicalClient]]:
    async with (
        EmbeddedServer(allow_short_ttl=True, sweep_interval=0.1) as server,
        make_client(server, min_ttl=timedelta(seconds=1)) as client,
    ):
        yield server, client


async def test_postgres_lease_end_to_end(
    client: AsyncInfisicalClient, databases: dict[str, str]
) -> None:
    dsn = databases["postgres"]
    ds = await client.dynamic_secrets.create(
        "pg", provider=pg_provider(dsn), default_ttl="1h", max_ttl="24h"
    )
    assert (ds.name, ds.default_ttl, ds.max_ttl) == ("pg", "1h", "24h")
    assert "pg-admin-test-password" not in repr(ds)
    fetched = await client.dynamic_secrets.get("pg")
    assert fetched.inputs is not None and fetched.inputs["creationStatement"] == PG_CREATE
    assert "pg-admin-test-password" not in repr(fetched)
    assert [d.name for d in await client.dynamic_secrets.list()] == ["pg"]

    lease = await client.dynamic_secrets.leases.create("pg", ttl="5m")
    creds = lease.credentials
    assert creds is not None and set(creds) == {"DB_USERNAME", "DB_PASSWORD"}
    assert creds["DB_PASSWORD"] not in repr(lease)
    assert await pg_login_works(dsn, creds["DB_USERNAME"], creds["DB_PASSWORD"])

    renewed = await client.dynamic_secrets.leases.renew(lease.id, ttl="10m")
    assert renewed.expire_at - lease.expire_at == timedelta(minutes=10)
    assert (await client.dynamic_secrets.leases.get(lease.id)).id == lease.id
    assert [x.id for x in await client.dynamic_secrets.leases.list("pg")] == [lease.id]

    await client.dynamic_secrets.leases.delete(lease.id)
    assert not await pg_login_works(dsn, creds["DB_USERNAME"], creds["DB_PASSWORD"])
    with pytest.raises(NotFoundError):
        await client.dynamic_secrets.leases.delete(lease.id)
    await client.dynamic_secrets.update("pg", default_ttl="2h", new_name="pg-main")
    assert (await client.dynamic_secrets.get("pg-main")).default_ttl == "2h"
    await client.dynamic_secrets.delete("pg-main")
    with pytest.raises(NotFoundError):
        await client.dynamic_secrets.get("pg-main")


async def test_lease_errors(client: AsyncInfisicalClient, databases: dict[str, str]) -> None:
    await client.dynamic_secrets.create(
        "pg", provider=pg_provider(databases["postgres"]), default_ttl="1h", max_ttl="2h"
    )
    with pytest.raises(NotFoundError):
        await client.dynamic_secrets.leases.create("nope")
    with pytest.raises(BadRequestError):
        await client.dynamic_secrets.leases.create("pg", ttl="3h")
    lease = await client.dynamic_secrets.leases.create("pg")
    with pytest.raises(BadRequestError):
        await client.dynamic_secrets.leases.renew(lease.id, ttl="90m")
    for bad in ("3600", "30s", "1mo", "11y"):
        with pytest.raises(InvalidArgumentError) as caught:
            await client.dynamic_secrets.leases.create("pg", ttl=bad)
        assert caught.value.argument == "ttl"
    with pytest.raises(InvalidArgumentError) as caught:
        await client.dynamic_secrets.create(
            "Bad_Name", provider=pg_provider("postgresql://x"), default_ttl="1h"
        )
    assert caught.value.argument == "name"
    await client.dynamic_secrets.leases.delete(lease.id)


async def test_renew_after_expiry_is_not_found(
    fast: tuple[EmbeddedServer, AsyncInfisicalClient], databases: dict[str, str]
) -> None:
    server, client = fast
    await client.dynamic_secrets.create(
        "pg", provider=pg_provider(databases["postgres"]), default_ttl="1s"
    )
    lease = await client.dynamic_secrets.leases.create("pg")
    await asyncio.sleep(1.5)
    with pytest.raises(NotFoundError):
        await client.dynamic_secrets.leases.renew(lease.id, ttl="5s")
    assert server.control.active_leases == 0


async def test_failed_revoke_is_an_error_unless_forced(
    client: AsyncInfisicalClient, databases: dict[str, str]
) -> None:
    provider = pg_provider(
        databases["postgres"], revocation_statement='DROP ROLE "{{username}}"; SELECT 1/0;'
    )
    await client.dynamic_secrets.create("flaky", provider=provider, default_ttl="1h")
    lease = await client.dynamic_secrets.leases.create("flaky")
    with pytest.raises(LeaseRevocationError) as caught:
        await client.dynamic_secrets.leases.delete(lease.id)
    assert caught.value.lease.status == "Failed to delete"
    forced = await client.dynamic_secrets.leases.delete(lease.id, force=True)
    assert forced.id == lease.id
    with pytest.raises(NotFoundError):
        await client.dynamic_secrets.leases.get(lease.id)


async def test_redis_lease(client: AsyncInfisicalClient, databases: dict[str, str]) -> None:
    url = urlsplit(databases["redis"])
    await client.dynamic_secrets.create(
        "cache",
        default_ttl="1h",
        provider=RedisProvider(
            host=url.hostname or "",
            port=url.port or 6379,
            username=url.username or "default",
            password=url.password,
        ),
    )
    lease = await client.dynamic_secrets.leases.create("cache")
    creds = lease.credentials or {}
    assert await redis_login_works(databases["redis"], creds["DB_USERNAME"], creds["DB_PASSWORD"])
    await client.dynamic_secrets.leases.delete(lease.id)
    assert not await redis_login_works(
        databases["redis"], creds["DB_USERNAME"], creds["DB_PASSWORD"]
    )


async def test_generic_provider_passes_through(client: AsyncInfisicalClient) -> None:
    ds = await client.dynamic_secrets.create(
        "totp",
        default_ttl="1h",
        provider=GenericProvider(
            type="totp", inputs={"configType": "manual", "secret": "JBSWY3DPEHPK3PXP"}
        ),
    )
    assert ds.type == "totp"


async def test_keeper_renews_rotates_and_cleans_up(
    fast: tuple[EmbeddedServer, AsyncInfisicalClient], databases: dict[str, str]
) -> None:
    server, client = fast
    dsn = databases["postgres"]
    await client.dynamic_secrets.create(
        "pg", provider=pg_provider(dsn), default_ttl="2s", max_ttl="5s"
    )
    rotated: list[Lease] = []

    async def on_rotate(lease: Lease) -> None:
        rotated.append(lease)

    async with client.dynamic_secrets.leases.keep(
        "pg", ttl="2s", on_rotate=on_rotate, grace_period=timedelta(seconds=0.3)
    ) as held:
        first = held.lease
        first_creds = dict(held.credentials)
        for _ in range(80):  # up to 8 s: renewals, then a rotation near the 5 s max TTL
            await asyncio.sleep(0.1)
            assert held.lease.expire_at > held.lease.created_at  # never held an expired one
            if held.rotations:
                break
        assert held.renewals >= 1
        assert held.rotations == 1 and rotated and rotated[0].id == held.lease.id
        new = held.credentials
        assert new["DB_USERNAME"] != first_creds["DB_USERNAME"]
        assert await pg_login_works(dsn, new["DB_USERNAME"], new["DB_PASSWORD"])
        await asyncio.sleep(0.6)  # grace period over: the old role is gone
        assert not await pg_role_exists(dsn, first_creds["DB_USERNAME"])
        assert first.id != held.lease.id
        leased = {first_creds["DB_USERNAME"], new["DB_USERNAME"]}
    assert server.control.active_leases == 0
    for user in leased:  # nothing this keeper leased is left in PostgreSQL
        assert not await pg_role_exists(dsn, user)


async def test_keeper_replaces_a_lost_lease_and_stops_with_the_client(
    databases: dict[str, str],
) -> None:
    async with EmbeddedServer(allow_short_ttl=True) as server:
        client = make_client(server, min_ttl=timedelta(seconds=1))
        await client.dynamic_secrets.create(
            "pg", provider=pg_provider(databases["postgres"]), default_ttl="2s"
        )
        rotations: list[str] = []
        keeper = client.dynamic_secrets.leases.keep(
            "pg", ttl="2s", on_rotate=lambda lease: rotations.append(lease.id)
        )
        held = await keeper.__aenter__()
        lost = held.lease.id
        await client.dynamic_secrets.leases.delete(lost)  # lost behind the keeper's back
        for _ in range(40):
            await asyncio.sleep(0.1)
            if rotations:
                break
        assert rotations and held.lease.id != lost
        await client.aclose()  # closing the client stops the keeper and revokes its lease
        assert server.control.active_leases == 0
        tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("lease-keeper")]
        assert tasks == []
