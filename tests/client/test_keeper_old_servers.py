"""The lease keeper against the faithful October-2024 mode, where renewals really fail.

That server answers 500 to every renewal of a PostgreSQL lease whose dynamic secret has no
renew statement (recorded, V8). No fault is injected here: the keeper must rotate ahead of
expiry on its own, never let the credentials lapse, and revoke the lease it replaced.
"""

from __future__ import annotations

from datetime import timedelta

import attrs

from infisical_async.testing import EmbeddedServer

from ..conftest import make_client
from .test_dynamic_secrets import pg_provider, pg_role_exists
from .test_keeper import RENEW, settle, use_virtual_time


async def test_a_2024_server_that_cannot_renew_gets_rotations(
    databases: dict[str, str],
) -> None:
    async with EmbeddedServer(compat="2024") as server, make_client(server) as client:
        provider = attrs.evolve(pg_provider(databases["postgres"]), renew_statement=None)
        await client.dynamic_secrets.create("pg", provider=provider, default_ttl="1h")
        time = use_virtual_time(client)
        errors: list[BaseException] = []
        async with client.dynamic_secrets.leases.keep(
            "pg", ttl="2m", grace_period=timedelta(0), on_error=errors.append
        ) as held:
            await time.idle()
            first, first_user = held.lease, held.credentials["DB_USERNAME"]
            for _ in range(30):
                await time.run(1)
                assert held.expires_in > 0  # the credentials never lapse
                if held.rotations:
                    break
            assert held.rotations == 1 and held.lease.id != first.id
            assert held.expires_in >= 40
            assert server.control.request_count(RENEW) >= 1
            assert errors and all(getattr(e, "status_code", None) == 500 for e in errors)
            await settle(lambda: server.control.active_leases == 1)  # the old one revoked
            assert not await pg_role_exists(databases["postgres"], first_user)
        assert server.control.active_leases == 0
