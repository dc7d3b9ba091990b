"""Fault injection: hundreds of calls per scenario, with exact failure and hit counts.

Each scenario drives the embedded server's fault controls, runs a fixed number of calls and
asserts the number of failures (zero, or exactly the faults a non-retryable write must
surface), the number of requests the server saw, and that no connection, task or thread is
left behind. The table is printed at the end of the test run.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from infisical_async import AsyncInfisicalClient, InfisicalError, Timeout
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client
from .conftest import FAULT_TABLE

GET = "GET /api/v4/secrets/{name}"
POST = "POST /api/v4/secrets/{name}"
LOGIN = "POST /api/v1/auth/universal-auth/login"


@dataclass
class Outcome:
    calls: int = 0
    failures: int = 0


async def run(
    calls: int,
    op: Callable[[int], Awaitable[object]],
    between: Callable[[int], Awaitable[None] | None] | None = None,
    concurrency: int = 1,
) -> Outcome:
    outcome = Outcome()
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with semaphore:
            outcome.calls += 1
            try:
                await op(i)
            except InfisicalError:
                outcome.failures += 1

    if concurrency == 1:
        for i in range(calls):
            if between is not None:
                maybe = between(i)
                if maybe is not None:
                    await maybe
            await one(i)
    else:
        await asyncio.gather(*(one(i) for i in range(calls)))
    return outcome


@pytest.fixture
async def env() -> object:
    threads_before = threading.active_count()
    async with EmbeddedServer() as server:
        client = make_client(server, retry_delay=0.001, max_retries=3, timeout=2.0)
        await client.secrets.create("KEY", "value")
        server.control.reset_counts()
        yield server, client
        connector = client._state.transport.session().connector
        assert connector is not None
        assert not connector._acquired, "a connection was not released"
        await client.aclose()
    assert threading.active_count() == threads_before
    current = asyncio.current_task()
    leftover = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert leftover == []


def record(
    name: str,
    outcome: Outcome,
    server: EmbeddedServer,
    expected_failures: int = 0,
    *,
    faults: int | None = None,
) -> None:
    injected = sum(server.control.faults_injected.values()) if faults is None else faults
    FAULT_TABLE.append((name, outcome.calls, injected, outcome.failures, expected_failures))
    assert outcome.failures == expected_failures


async def test_bursts_of_503(env: tuple[EmbeddedServer, AsyncInfisicalClient]) -> None:
    server, client = env

    def burst(i: int) -> None:
        if i % 4 == 0:
            server.control.fail_next(2, status=503, path="^/api/v4/secrets/")

    outcome = await run(300, lambda i: client.secrets.get("KEY"), between=burst)
    record("bursts of 503 (2 in every 4 reads)", outcome, server)
    assert server.control.request_count(GET) == 300 + 150


async def test_429_with_retry_after(env: tuple[EmbeddedServer, AsyncInfisicalClient]) -> None:
    server, client = env

    def limit(i: int) -> None:
        if i % 10 == 0:
            server.control.fail_next(1, status=429, retry_after="0.01", path="^/api/v4/secrets/")

    outcome = await run(200, lambda i: client.secrets.get("KEY"), between=limit)
    record("429 + Retry-After (1 in 10 reads)", outcome, server)
    assert server.control.request_count(GET) == 220


async def test_dropped_connections_mid_body(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env

    def drop(i: int) -> None:
        if i % 5 == 0:
            server.control.drop_next(1, path="^/api/v4/secrets/")

    outcome = await run(200, lambda i: client.secrets.get("KEY"), between=drop)
    record("connection dropped mid-body (1 in 5)", outcome, server)
    assert server.control.request_count(GET) == 240


async def test_slow_responses_past_the_timeout(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env
    # Each attempt may wait 0.2 s for the answer; the whole call may take 2 s.
    impatient = client.with_options(timeout=Timeout(total=2.0, read=0.2))

    def slow(i: int) -> None:
        if i % 20 == 0:
            server.control.delay_next(1, seconds=0.3, path="^/api/v4/secrets/")

    outcome = await run(200, lambda i: impatient.secrets.get("KEY"), between=slow)
    record("slow answer past the 0.2s read timeout (1 in 20)", outcome, server)
    assert server.control.request_count(GET) == 210


async def test_no_retry_past_the_callers_deadline(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env
    hurried = client.with_options(timeout=0.2)  # the whole call, retries included

    def slow(i: int) -> None:
        if i % 20 == 0:
            server.control.delay_next(1, seconds=0.3, path="^/api/v4/secrets/")

    outcome = await run(100, lambda i: hurried.secrets.get("KEY"), between=slow)
    record("slow answer past a 0.2s whole-call deadline", outcome, server, 5)
    assert server.control.request_count(GET) == 100  # nothing retried past the deadline


async def test_all_tokens_expired_mid_burst(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env

    async def op(i: int) -> None:
        if i == 150:
            server.control.expire_all_tokens()
        await client.secrets.get("KEY")

    outcome = await run(300, op, concurrency=16)
    record("every token expired mid-burst (16 concurrent)", outcome, server, faults=1)
    assert server.control.request_count(LOGIN) == 1  # one re-login for everyone


async def test_server_restarted_on_the_same_port(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env

    async def restart(i: int) -> None:
        if i in (50, 100, 150):
            await server.restart()

    outcome = await run(200, lambda i: client.secrets.get("KEY"), between=restart)
    record("server restarted on the same port (3 times)", outcome, server, faults=3)
    assert server.control.request_count(GET) >= 200


async def test_creates_are_not_repeated_on_a_503(
    env: tuple[EmbeddedServer, AsyncInfisicalClient],
) -> None:
    server, client = env

    def burst(i: int) -> None:
        if i % 10 == 0:
            server.control.fail_next(1, status=503, path="^/api/v4/secrets/", method="POST")

    outcome = await run(100, lambda i: client.secrets.create(f"NEW_{i}", "v"), between=burst)
    # A 503 without Retry-After may have been applied: surfaced, never replayed.
    record("503 on creates (1 in 10; not retried)", outcome, server, 10)
    assert server.control.request_count(POST) == 100

    def limited(i: int) -> None:
        if i % 10 == 0:
            server.control.fail_next(
                1, status=503, retry_after="0", path="^/api/v4/secrets/", method="POST"
            )

    server.control.reset_counts()
    outcome = await run(100, lambda i: client.secrets.create(f"MORE_{i}", "v"), between=limited)
    record("503 + Retry-After on creates (retried)", outcome, server)
    assert len(await client.secrets.list()) == 1 + 90 + 100
