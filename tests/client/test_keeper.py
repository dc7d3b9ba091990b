"""The lease keeper on a virtual clock against the real server and PostgreSQL.

The keeper's clock and sleep are injected: each test lets it take a given number of
sleeps (each advancing the virtual monotonic clock at once) and then inspects the server.
The server keeps its own (real, possibly shifted) clock, as a real one would.
"""

from __future__ import annotations

import asyncio
import time as real_time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web

from infisical_async import (
    APIConnectionError,
    AsyncInfisicalClient,
    Lease,
    NotFoundError,
    ResponseValidationError,
    UniversalAuth,
)
from infisical_async._keeper import HeldLease, LeaseKeeper
from infisical_async.testing import EmbeddedServer

from ..conftest import ServeApp, make_client
from .test_dynamic_secrets import pg_provider, pg_role_exists

CREATE = "POST /api/v1/dynamic-secrets/leases"
RENEW = "POST /api/v1/dynamic-secrets/leases/{leaseId}/renew"
LOGIN = "POST /api/v1/auth/universal-auth/login"
DAY = 86400.0


class VirtualTime:
    """A monotonic clock and a sleep that advances it, released a number of sleeps at a
    time. Sleeps of zero (a grace period of 0) pass straight through."""

    def __init__(self) -> None:
        # Start where the real clock is: a token got before the switch keeps its meaning
        # (a fixed start would make its expiry depend on how long the machine has been up).
        # Whole seconds: lives like 120 s stay exact when added and taken away again.
        self.now = float(int(real_time.monotonic()))
        self.sleeps: list[float] = []
        self._budget = 0
        self._idle = asyncio.Event()
        self._resume = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        self.sleeps.append(seconds)  # as asked for; the clock moves once it is released
        while self._budget <= 0:
            self._resume.clear()
            self._idle.set()
            await self._resume.wait()
        self._idle.clear()
        self._budget -= 1
        self.now += seconds
        await asyncio.sleep(0)

    async def idle(self) -> None:
        """Wait until the keeper is parked in a sleep with no budget left."""
        await asyncio.wait_for(self._idle.wait(), 10)

    def release(self, sleeps: int) -> None:
        """Let the keeper take ``sleeps`` more sleeps (without waiting for it to park)."""
        self._budget += sleeps
        self._idle.clear()
        self._resume.set()

    async def run(self, sleeps: int) -> None:
        """Let the keeper take ``sleeps`` more sleeps, then wait until it parks again."""
        self.release(sleeps)
        await self.idle()


def use_virtual_time(client: AsyncInfisicalClient) -> VirtualTime:
    time = VirtualTime()
    client._state.clock = time.clock
    client._state.sleep = time.sleep
    client._state.tokens._clock = time.clock
    return time


async def run_until_rotated(time: VirtualTime, held: HeldLease, *, sleeps: int) -> None:
    """Step the keeper one sleep at a time until it rotates (at most ``sleeps``),
    checking after every step that the credentials it holds never lapse."""
    for _ in range(sleeps):
        await time.run(1)
        assert held.expires_in > 0  # the credentials never lapse
        if held.rotations:
            return


async def settle(predicate: Any, seconds: float = 5.0) -> None:
    """Wait (bounded) for background work on the server side, e.g. a revocation."""
    for _ in range(int(seconds / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


@pytest.fixture
async def pg_env(
    databases: dict[str, str], request: pytest.FixtureRequest
) -> AsyncIterator[tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime]]:
    offset = getattr(request, "param", 0.0)
    async with (
        EmbeddedServer(clock_offset=offset) as server,
        make_client(server) as client,
    ):
        await client.dynamic_secrets.create(
            "pg", provider=pg_provider(databases["postgres"]), default_ttl="1h", max_ttl="1d"
        )
        yield server, client, use_virtual_time(client)


@pytest.mark.parametrize("pg_env", [-DAY, -600.0, 0.0, 600.0, DAY], indirect=True)
async def test_clock_skew_changes_nothing(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
) -> None:
    """A server clock a day or ten minutes off (either way): one lease, renewed on time."""
    server, client, time = pg_env
    async with client.dynamic_secrets.leases.keep(
        "pg", ttl="2m", grace_period=timedelta(0)
    ) as held:
        await time.idle()
        assert 54 <= time.sleeps[0] <= 60  # half of the 2 min life, less up to 10% jitter
        for step in range(10):
            await time.run(1)
            assert held.healthy and held.expires_in > 60, step
        assert held.renewals == 10 and held.rotations == 0
        assert server.control.request_count(CREATE) == 1  # exactly one lease
        assert server.control.request_count(RENEW) == 10
        assert server.control.active_leases == 1
        # The token lifecycle on the same skewed server: renewed in the background.
        time.now += 2500
        await client.secrets.list()
        refresh = client._state.tokens._refresh
        assert refresh is not None
        await refresh
        assert server.control.request_count(LOGIN) == 1
        await client.secrets.list()  # the renewed token is accepted
    assert server.control.active_leases == 0


async def test_renewals_that_keep_failing_rotate_before_expiry(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime], databases: dict[str, str]
) -> None:
    server, client, time = pg_env
    errors: list[BaseException] = []
    async with client.dynamic_secrets.leases.keep(
        "pg", ttl="2m", grace_period=timedelta(0), on_error=errors.append
    ) as held:
        await time.idle()
        first = held.lease
        first_user = held.credentials["DB_USERNAME"]
        server.control.fail_next(1000, status=500, path="/renew$")
        await run_until_rotated(time, held, sleeps=30)
        assert held.rotations == 1 and held.lease.id != first.id
        assert held.expires_in >= 40  # rotated with a third of the life left, at the latest
        assert errors and all(getattr(e, "status_code", None) == 500 for e in errors)
        assert held.last_error is None and held.healthy  # the rotation worked
        failed_attempts = len(errors)
        assert 2 <= failed_attempts <= 8  # backed off, not hammering the server
        await settle(lambda: server.control.active_leases == 1)  # the old lease revoked
        assert not await pg_role_exists(databases["postgres"], first_user)
    assert server.control.active_leases == 0


async def test_a_refused_renewal_rotates_at_once(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
) -> None:
    server, client, time = pg_env
    async with client.dynamic_secrets.leases.keep(
        "pg", ttl="2m", grace_period=timedelta(0)
    ) as held:
        await time.idle()
        first = held.lease.id
        server.control.fail_next(1, status=400, path="/renew$")
        await time.run(1)
        assert held.rotations == 1 and held.lease.id != first
        await settle(lambda: server.control.active_leases == 1)


async def test_any_exception_is_reported_and_the_keeper_goes_on(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, client, time = pg_env
    leases = client.dynamic_secrets.leases
    real_renew = leases.renew
    broken = {"left": 2}

    async def renew(*args: Any, **kwargs: Any) -> Lease:
        if broken["left"]:
            broken["left"] -= 1
            raise KeyError("a bug far from the keeper")
        return await real_renew(*args, **kwargs)

    leases.renew = renew  # type: ignore[method-assign]
    seen: list[BaseException] = []

    async def on_error(exc: BaseException) -> None:
        seen.append(exc)

    async with leases.keep("pg", ttl="2m", on_error=on_error) as held:
        await time.idle()
        await time.run(1)
        assert isinstance(held.last_error, KeyError) and not held.healthy
        assert "a bug far from the keeper" in caplog.text  # logged at WARNING, when it happened
        assert any(r.levelname == "WARNING" for r in caplog.records)
        await time.run(2)
        assert held.renewals == 1 and held.last_error is None and held.healthy
        assert len(seen) == 2
    assert server.control.active_leases == 0  # revocation still ran on exit


async def test_a_lost_lease_is_replaced_with_backoff_and_no_storm(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
) -> None:
    server, client, time = pg_env
    async with client.dynamic_secrets.leases.keep("pg", ttl="2m") as held:
        await time.idle()
        lost = held.lease.id
        await client.dynamic_secrets.leases.delete(lost)  # gone behind the keeper's back
        server.control.fail_next(5, status=503, path="/leases$", method="POST")
        server.control.reset_counts()
        await time.run(6)  # the renewal's wait, then five waits between refused creates
        assert held.rotations == 1 and held.lease.id != lost
        assert server.control.request_count(CREATE) == 6  # 5 refused, then one lease
        assert len(time.sleeps) == 7
        backoff = time.sleeps[1:6]
        assert backoff[0] < backoff[1] < backoff[2] < backoff[3]  # doubling (jittered)...
        assert min(backoff[3:]) >= 6  # ... up to the cap
        assert server.control.active_leases == 1
    assert server.control.active_leases == 0


async def test_renew_is_never_replayed_after_a_lost_answer(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
) -> None:
    server, client, _ = pg_env
    lease = await client.dynamic_secrets.leases.create("pg", ttl="10m")
    server.control.drop_next(1, path="/renew$")
    with pytest.raises(APIConnectionError):
        await client.dynamic_secrets.leases.renew(lease.id, ttl="10m")
    assert server.control.request_count(RENEW) == 1  # sent once: +10 m, not +20 m
    after = await client.dynamic_secrets.leases.get(lease.id)
    assert (after.expire_at - lease.expire_at).total_seconds() == pytest.approx(600, abs=2)
    await client.dynamic_secrets.leases.delete(lease.id)


async def test_a_delete_whose_answer_was_lost_succeeds_on_the_404(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime],
) -> None:
    server, client, _ = pg_env
    lease = await client.dynamic_secrets.leases.create("pg", ttl="10m")
    server.control.drop_next(1, path="/leases/[^/]+$", method="DELETE")
    assert await client.dynamic_secrets.leases.delete(lease.id) is None  # gone: goal holds
    assert server.control.active_leases == 0
    with pytest.raises(NotFoundError):  # a plain 404 (no lost answer) is still an error
        await client.dynamic_secrets.leases.delete(lease.id)


async def test_keepers_started_through_views_stop_with_the_client(
    databases: dict[str, str],
) -> None:
    async with EmbeddedServer() as server:
        client = make_client(server)
        await client.dynamic_secrets.create(
            "pg", provider=pg_provider(databases["postgres"]), default_ttl="1h"
        )
        view = client.with_options(timeout=10)
        keeper = view.dynamic_secrets.leases.keep("pg", ttl="10m")
        held = await keeper.__aenter__()
        assert server.control.active_leases == 1
        await client.aclose()
        assert server.control.active_leases == 0 and not held.healthy
        await keeper.__aexit__(None, None, None)  # the block ending later: nothing to do


def lease_server(
    *,
    life: float,
    renew_adds: float,
    max_ttl: str = "1d",
    renew_status: int = 200,
    delete_failures: int = 0,
) -> tuple[web.Application, dict[str, int]]:
    """Lease routes of a server whose answers are consistent but odd: new leases claiming
    ``life`` seconds, renewals claiming ``renew_adds`` more (or failing with
    ``renew_status``), the first ``delete_failures`` revocations failing with 500."""
    counts = {"create": 0, "renew": 0, "delete": 0}
    failing = {"delete": delete_failures}
    base = datetime(2030, 1, 1, tzinfo=timezone.utc)
    expiry: dict[str, datetime] = {}

    def lease(lease_id: str) -> dict[str, Any]:
        expire = expiry.get(lease_id, base)
        return {"id": lease_id, "expireAt": iso(expire), "createdAt": iso(base)}

    async def create(_: web.Request) -> web.Response:
        counts["create"] += 1
        lease_id = f"lease-{counts['create']}"
        expiry[lease_id] = base + timedelta(seconds=life)
        return web.json_response(
            {
                "lease": lease(lease_id),
                "dynamicSecret": {
                    "id": "ds",
                    "name": "pg",
                    "type": "sql-database",
                    "defaultTTL": "1h",
                    "maxTTL": max_ttl,
                },
                "data": {"U": "u"},
            }
        )

    async def renew(request: web.Request) -> web.Response:
        counts["renew"] += 1
        if renew_status != 200:
            body = {"statusCode": renew_status, "message": "no", "error": "Error"}
            return web.json_response(body, status=renew_status)
        lease_id = request.match_info["id"]
        expiry[lease_id] += timedelta(seconds=renew_adds)
        return web.json_response({"lease": lease(lease_id)})

    async def delete(request: web.Request) -> web.Response:
        counts["delete"] += 1
        if failing["delete"] > 0:
            failing["delete"] -= 1
            body = {"statusCode": 500, "message": "provider down", "error": "Error"}
            return web.json_response(body, status=500)
        return web.json_response({"lease": lease(request.match_info["id"])})

    app = web.Application()
    app.router.add_post("/api/v1/auth/universal-auth/login", login_answer)
    app.router.add_post("/api/v1/dynamic-secrets/leases", create)
    app.router.add_post("/api/v1/dynamic-secrets/leases/{id}/renew", renew)
    app.router.add_delete("/api/v1/dynamic-secrets/leases/{id}", delete)
    return app, counts


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def login_answer(_: web.Request) -> web.Response:
    return web.json_response({"accessToken": "t", "expiresIn": 3600})


def lease_client(url: str) -> AsyncInfisicalClient:
    return AsyncInfisicalClient(
        site_url=url,
        auth=UniversalAuth(client_id="id", client_secret="secret"),
        project_slug="p",
        environment="dev",
    )


async def test_a_lease_granted_no_life_is_given_back_not_used(local_app: ServeApp) -> None:
    app, counts = lease_server(life=0, renew_adds=60)
    async with lease_client(await local_app(app)) as client:
        with pytest.raises(ResponseValidationError, match="0s of life"):
            async with client.dynamic_secrets.leases.keep("pg", ttl="2m"):
                raise AssertionError("a useless lease must not be handed out")
    assert counts == {"create": 1, "renew": 0, "delete": 1}


async def test_a_renewal_that_extends_nothing_counts_as_failed(local_app: ServeApp) -> None:
    app, counts = lease_server(life=120, renew_adds=0)
    async with lease_client(await local_app(app)) as client:
        time = use_virtual_time(client)
        async with client.dynamic_secrets.leases.keep(
            "pg", ttl="2m", grace_period=timedelta(0)
        ) as held:
            await time.idle()
            await run_until_rotated(time, held, sleeps=20)
            assert held.rotations == 1 and counts["create"] == 2
            assert counts["renew"] >= 2 and held.expires_in >= 40
    # the replaced lease (again on exit if its revocation was still in flight) and the current
    assert counts["delete"] in (2, 3)


async def test_a_claimed_life_beyond_what_was_asked_is_not_believed(
    local_app: ServeApp,
) -> None:
    # Years, supposedly (within the max TTL, so renewals still fit).
    app, _ = lease_server(life=10**8, renew_adds=10**8, max_ttl="10y")
    async with lease_client(await local_app(app)) as client:
        time = use_virtual_time(client)
        async with client.dynamic_secrets.leases.keep("pg", ttl="2m") as held:
            await time.idle()
            assert held.expires_in <= 120
            await time.run(1)
            assert held.renewals == 1 and held.expires_in <= 2 * 120  # +2 min at most


async def test_an_absurd_max_ttl_does_not_stop_rotation(local_app: ServeApp) -> None:
    app, counts = lease_server(
        life=120, renew_adds=120, max_ttl="99999999999999y", renew_status=503
    )
    async with lease_client(await local_app(app)) as client:
        time = use_virtual_time(client)
        async with client.dynamic_secrets.leases.keep(
            "pg", ttl="2m", grace_period=timedelta(0)
        ) as held:
            await time.idle()
            await run_until_rotated(time, held, sleeps=20)
            assert held.rotations == 1 and counts["create"] == 2


async def test_a_failed_revocation_of_an_old_lease_is_retried(local_app: ServeApp) -> None:
    app, counts = lease_server(life=120, renew_adds=120, delete_failures=2)
    async with lease_client(await local_app(app)) as client:

        async def instant(_: float) -> None:
            await asyncio.sleep(0)

        keeper = LeaseKeeper(
            client.dynamic_secrets.leases,
            "pg",
            ttl="2m",
            location={"path": "/", "environment": "dev", "project_slug": "p"},
            on_rotate=None,
            revoke_on_exit=True,
            grace_period=timedelta(0),
            min_ttl=timedelta(minutes=1),
            sleep=instant,
        )
        await keeper._retire("lease-1", 0)
    assert counts["delete"] == 3  # two failures, then revoked


@pytest.mark.parametrize("callback", ["on_error", "on_rotate"])
async def test_closing_the_client_from_a_keeper_callback(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime], callback: str
) -> None:
    server, client, time = pg_env
    closed = asyncio.Event()

    async def close_client(_: object) -> None:
        await client.aclose()
        closed.set()

    options: dict[str, Any] = {callback: close_client}
    status = 503 if callback == "on_error" else 400  # a failure, or a refusal: rotation
    keeper = client.dynamic_secrets.leases.keep("pg", ttl="2m", **options)
    held = await keeper.__aenter__()
    await time.idle()
    server.control.fail_next(5, status=status, path="/renew$")
    time.release(1)  # one more wait: the renewal fails, the callback closes the client
    await asyncio.wait_for(closed.wait(), 5)
    assert client.closed and not held.healthy
    assert server.control.active_leases == 0  # every lease revoked on the way out
    await keeper.__aexit__(None, None, None)


@pytest.mark.parametrize("when", ["entering the block", "replacing a lost lease"])
async def test_a_lease_whose_create_was_cut_short_is_revoked(
    pg_env: tuple[EmbeddedServer, AsyncInfisicalClient, VirtualTime], when: str
) -> None:
    server, client, time = pg_env
    if when == "entering the block":
        server.control.delay_next(1, seconds=0.5, path="/leases$", method="POST")

        async def enter() -> None:
            async with client.dynamic_secrets.leases.keep("pg", ttl="2m"):
                raise AssertionError("never entered")

        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(enter(), 0.2)
    else:
        async with client.dynamic_secrets.leases.keep("pg", ttl="2m") as held:
            await time.idle()
            await client.dynamic_secrets.leases.delete(held.lease.id)
            server.control.delay_next(1, seconds=0.5, path="/leases$", method="POST")
            time.release(1)  # let the keeper find the lease gone and lease again...
            await asyncio.sleep(0.2)  # ... and leave the block while that is in flight
    assert server.control.request_count(CREATE) >= 1
    assert server.control.active_leases == 0  # the late answer's lease was revoked
