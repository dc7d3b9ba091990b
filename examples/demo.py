"""The SDK's main job, end to end, against the embedded server (no Infisical account needed).

Logs in with a machine identity, creates/lists/reads/updates/deletes secrets, then leases
short-lived PostgreSQL credentials from a dynamic secret, uses them, renews and revokes them.

    python examples/demo.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from infisical_async import AsyncInfisicalClient, SqlDatabaseProvider, UniversalAuth
from infisical_async.testing import EmbeddedServer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from services import ensure_services


def step(text: str) -> None:
    print(f"-> {text}")


async def main() -> None:
    dsn = ensure_services()["postgres"]
    pg = urlsplit(dsn)
    async with EmbeddedServer() as server:
        info = server.info
        step(f"embedded Infisical server at {info.site_url}, project {info.project_slug}")
        async with AsyncInfisicalClient(
            site_url=info.site_url,
            auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
            project_id=info.project_id,
            environment="dev",
        ) as client:
            await client.secrets.create("DATABASE_HOST", "db.internal", comment="demo")
            await client.secrets.create("DATABASE_URL", "postgres://${DATABASE_HOST}/app")
            step("logged in (Universal Auth) and created DATABASE_HOST, DATABASE_URL")
            listing = await client.secrets.list()
            step(f"listed {len(listing)} secrets: {sorted(listing.to_dict())}")
            url = await client.secrets.get("DATABASE_URL")
            step(f"DATABASE_URL (references expanded) = {url.value}")
            updated = await client.secrets.update("DATABASE_HOST", value="db2.internal")
            step(f"updated DATABASE_HOST to version {updated.version}")
            await client.secrets.delete("DATABASE_HOST")
            await client.secrets.delete("DATABASE_URL")
            step("deleted both secrets")

            await client.dynamic_secrets.create(
                "app-db",
                provider=SqlDatabaseProvider(
                    client="postgres",
                    host=pg.hostname or "",
                    port=pg.port or 5432,
                    database=pg.path.lstrip("/"),
                    username=pg.username or "",
                    password=pg.password or "",
                    creation_statement='CREATE ROLE "{{username}}" WITH LOGIN PASSWORD '
                    "'{{password}}' VALID UNTIL '{{expiration}}';",
                    revocation_statement='DROP ROLE IF EXISTS "{{username}}";',
                    renew_statement="ALTER ROLE \"{{username}}\" VALID UNTIL '{{expiration}}';",
                ),
                default_ttl="1h",
                max_ttl="24h",
            )
            step("created dynamic secret app-db (PostgreSQL)")
            lease = await client.dynamic_secrets.leases.create("app-db", ttl="5m")
            creds = lease.credentials or {}
            step(f"leased user {creds['DB_USERNAME']} until {lease.expire_at:%H:%M:%S} UTC")
            conn = await asyncpg.connect(
                host=pg.hostname,
                port=pg.port,
                database="postgres",
                user=creds["DB_USERNAME"],
                password=creds["DB_PASSWORD"],
            )
            step(f"logged in to PostgreSQL as {await conn.fetchval('SELECT current_user')}")
            await conn.close()
            renewed = await client.dynamic_secrets.leases.renew(lease.id, ttl="10m")
            step(f"renewed the lease until {renewed.expire_at:%H:%M:%S} UTC")
            await client.dynamic_secrets.leases.delete(lease.id)
            try:
                await asyncpg.connect(
                    host=pg.hostname,
                    port=pg.port,
                    database="postgres",
                    user=creds["DB_USERNAME"],
                    password=creds["DB_PASSWORD"],
                )
            except asyncpg.PostgresError as exc:
                step(f"revoked: the leased user can no longer log in ({type(exc).__name__})")
            else:
                raise SystemExit("the revoked user could still log in")
            await client.dynamic_secrets.delete("app-db")
    step("done")


if __name__ == "__main__":
    asyncio.run(main())
