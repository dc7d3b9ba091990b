"""Login, renewal, re-login and the single-flight refresh, over loopback."""

from __future__ import annotations

import asyncio

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    AuthenticationError,
    ClientClosedError,
    NotAuthenticatedError,
    TokenAuth,
    UniversalAuth,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client

LOGIN = "POST /api/v1/auth/universal-auth/login"
RENEW = "POST /api/v1/auth/token/renew"


async def test_login_is_lazy(server: EmbeddedServer) -> None:
    async with make_client(server) as client:
        assert server.control.request_count(LOGIN) == 0
        await client.secrets.list()
        await client.secrets.list()
        assert server.control.request_count(LOGIN) == 1


class VirtualClock:
    """A monotonic clock the test moves by hand (the server keeps real time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def with_clock(client: AsyncInfisicalClient) -> VirtualClock:
    clock = VirtualClock()
    client._state.tokens._clock = clock
    return clock


async def settle(client: AsyncInfisicalClient) -> None:
    """Wait for a background renewal to finish (its outcome is the test's to check)."""
    refresh = client._state.tokens._refresh
    if refresh is not None:
        await asyncio.wait([refresh])


async def test_renews_in_the_background_before_expiry(compat: str) -> None:
    async with (
        EmbeddedServer(compat=compat) as server,  # type: ignore[arg-type]
        make_client(server) as client,
    ):
        clock = with_clock(client)
        await client.secrets.list()
        first = client.auth.access_token
        clock.now += 2500  # past 2/3 of the 3600 s TTL, before expiry
        await client.secrets.list()  # answered with the current token at once
        await settle(client)
        assert server.control.request_count(RENEW) == 1
        assert server.control.request_count(LOGIN) == 1
        if compat == "2024":
            assert client.auth.access_token == first
        else:
            assert client.auth.access_token != first  # renew returned a new JWT: stored
        await client.secrets.list()
        assert server.control.request_count(RENEW) == 1  # the renewed token is fresh again


async def test_logs_in_again_instead_of_renewing_past_max_ttl(compat: str) -> None:
    # ttl 3600 s, max 4000 s: at 2500 s a renewal would ask past the max TTL. The 2024
    # server would delete the token for that; the client must log in again instead.
    async with (
        EmbeddedServer(compat=compat, access_token_max_ttl=4000) as server,  # type: ignore[arg-type]
        make_client(server) as client,
    ):
        clock = with_clock(client)
        await client.secrets.list()
        clock.now += 2500
        await client.secrets.list()
        await settle(client)
        assert server.control.request_count(RENEW) == 0
        assert server.control.request_count(LOGIN) == 2
        errors = [r for r in server.control.requests if r.startswith("POST unmatched")]
        assert errors == []


@pytest.mark.parametrize("fault", ["503", "dropped connection", "timeout"])
async def test_a_renewal_that_fails_in_transit_keeps_the_valid_token(
    current_server: EmbeddedServer, fault: str
) -> None:
    server = current_server
    async with make_client(server, max_retries=0, timeout=1) as client:
        clock = with_clock(client)
        await client.secrets.list()
        token = client.auth.access_token
        if fault == "503":
            server.control.fail_next(1, status=503, path="token/renew")
        elif fault == "timeout":
            server.control.delay_next(1, seconds=1.5, path="token/renew")
        else:
            server.control.drop_next(1, path="token/renew")
        clock.now += 2500
        assert len(await client.secrets.list()) == 0  # the caller never saw the failure
        await settle(client)
        assert client.auth.access_token == token  # still valid: still in use
        assert client._state.tokens.last_error is not None
        await client.secrets.list()
        await settle(client)
        assert server.control.request_count(RENEW) == 1  # backing off, not retrying per call
        clock.now += 70  # past the backoff: the next call renews again, and it works
        await client.secrets.list()
        await settle(client)
        assert server.control.request_count(RENEW) == 2
        assert client.auth.access_token != token and client._state.tokens.last_error is None
        assert server.control.request_count(LOGIN) == 1  # a transit failure forces no login


async def test_a_refused_renewal_becomes_a_login(current_server: EmbeddedServer) -> None:
    server = current_server
    async with make_client(server) as client:
        clock = with_clock(client)
        await client.secrets.list()
        server.control.fail_next(1, status=401, path="token/renew")
        clock.now += 2500
        await client.secrets.list()
        await settle(client)
        assert server.control.request_count(RENEW) == 1
        assert server.control.request_count(LOGIN) == 2
        assert client._state.tokens.last_error is None


@pytest.mark.parametrize("waiting_on", ["a login", "an answer", "a backoff"])
async def test_calls_pending_at_aclose_get_client_closed_error(
    current_server: EmbeddedServer, waiting_on: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = current_server
    client = make_client(server, retry_delay=5)
    if waiting_on == "a login":
        server.control.delay_next(1, seconds=5, path="universal-auth")
    else:
        await client.secrets.list()
        if waiting_on == "an answer":
            server.control.delay_next(3, seconds=5, path="^/api/v4/secrets$")
        else:
            server.control.fail_next(3, status=503, path="^/api/v4/secrets$")
    pending = [asyncio.ensure_future(client.secrets.list()) for _ in range(3)]
    await asyncio.sleep(0.2)
    await client.aclose()
    for call in pending:
        with pytest.raises(ClientClosedError):
            await call
    assert "revok" not in caplog.text  # no spurious warnings after the close


async def test_an_expired_token_makes_callers_wait_for_a_login(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server) as client:
        clock = with_clock(client)
        await client.secrets.list()
        server.control.fail_next(5, status=503, path="token/renew")
        clock.now += 3700  # expired by the client's clock: renewal is no longer possible
        await client.secrets.list()
        assert server.control.request_count(LOGIN) == 2
        assert server.control.request_count(RENEW) == 0


async def test_1000_concurrent_calls_on_an_expired_token_log_in_once(
    server: EmbeddedServer,
) -> None:
    async with make_client(server, max_retries=0) as client:
        await client.secrets.list()
        server.control.expire_all_tokens()
        server.control.reset_counts()
        results = await asyncio.gather(*(client.secrets.list() for _ in range(1000)))
        assert len(results) == 1000
        assert server.control.request_count(LOGIN) == 1
        assert server.control.request_count(RENEW) == 0


async def test_rejected_token_triggers_one_relogin_and_one_replay(server: EmbeddedServer) -> None:
    async with make_client(server) as client:
        await client.secrets.create("KEY", "value")
        server.control.expire_all_tokens()
        server.control.reset_counts()
        secret = await client.secrets.get("KEY")
        assert secret.value == "value"
        counts = server.control.requests
        get_route = next(r for r in counts if r.startswith("GET") and "{name}" in r)
        assert counts[get_route] == 2 and counts[LOGIN] == 1


async def test_no_relogin_loop_when_new_tokens_are_refused_too(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, max_retries=0) as client:
        await client.secrets.list()
        server.control.reset_counts()
        server.control.fail_next(5, status=401, path=r"^/api/v4/secrets$")
        with pytest.raises(AuthenticationError):
            await client.secrets.list()
        assert server.control.request_count("GET /api/v4/secrets") == 2
        assert server.control.request_count(LOGIN) == 1


async def test_wrong_credentials_raise_authentication_error(server: EmbeddedServer) -> None:
    info = server.info
    async with make_client(
        server, auth=UniversalAuth(client_id=info.client_id, client_secret="wrong")
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.secrets.list()
        assert caught.value.status_code == 401
        assert "wrong" not in str(caught.value) and "wrong" not in repr(caught.value)


async def test_cancelled_caller_during_refresh_does_not_wedge_the_client(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server) as client:
        server.control.delay_next(1, seconds=0.5, path="universal-auth")
        first = asyncio.ensure_future(client.secrets.list())
        second = asyncio.ensure_future(client.secrets.list())
        await asyncio.sleep(0.1)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert len(await second) == 0  # the shared login went on for the other caller
        assert server.control.request_count(LOGIN) == 1
        await client.secrets.list()


async def test_cancelled_sole_caller_lets_the_next_one_refresh(
    current_server: EmbeddedServer,
) -> None:
    server = current_server
    async with make_client(server, timeout=5) as client:
        server.control.delay_next(1, seconds=1.0, path="universal-auth")
        task = asyncio.ensure_future(client.secrets.list())
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await client.secrets.list()


async def test_explicit_login_renew_revoke_and_set_token(server: EmbeddedServer) -> None:
    info = server.info
    async with AsyncInfisicalClient(
        site_url=info.site_url, project_id=info.project_id, environment="dev"
    ) as client:
        with pytest.raises(NotAuthenticatedError):
            await client.secrets.list()
        token = await client.auth.universal_auth.login(info.client_id, info.client_secret)
        assert token.expires_in == 3600 and token.access_token not in repr(token)
        await client.secrets.list()
        renewed = await client.auth.renew()
        assert client.auth.access_token == renewed.access_token
        await client.auth.revoke()
        assert client.auth.access_token is None
        await client.secrets.list()  # logs in again with the remembered credentials
        assert server.control.request_count(LOGIN) == 2
        static = server.control.create_access_token()
        client.auth.set_access_token(static)
        await client.secrets.list()
        assert client.auth.access_token == static


async def test_token_auth_is_used_as_given_and_not_replaced(server: EmbeddedServer) -> None:
    info = server.info
    token = server.control.create_access_token()
    async with AsyncInfisicalClient(
        site_url=info.site_url,
        auth=TokenAuth(token=token),
        project_id=info.project_id,
        environment="dev",
    ) as client:
        await client.secrets.list()
        assert server.control.request_count(LOGIN) == 0
        server.control.expire_all_tokens()
        with pytest.raises(AuthenticationError):
            await client.secrets.list()
        assert server.control.request_count(LOGIN) == 0
