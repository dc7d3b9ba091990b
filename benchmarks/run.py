"""infisical-async against raw aiohttp and the official SDK, side by side in one run.

The embedded server runs in its own process; every client talks to it over loopback in this
process. Each figure is the best of several rounds (the machine is shared and noisy), and
every row carries its ratio to the baseline measured in the same run.

    python -m benchmarks            # full run, prints the table, writes benchmarks/results.png
    python -m benchmarks --quick    # a smoke pass of a few hundred iterations (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from . import startup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

PG_CREATE = (
    "CREATE ROLE \"{{username}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
)
PARAMS = {
    "environment": "dev",
    "secretPath": "/",
    "type": "shared",
    "include_imports": "true",
    "expandSecretReferences": "true",
    "viewSecretValue": "true",
}


@dataclass
class Row:
    group: str
    subject: str
    value: float
    unit: str
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""
    """How much the figure moved between rounds or repetitions, where that is known."""


@dataclass
class Server:
    site: str
    client_id: str
    client_secret: str
    project_id: str
    project_slug: str
    process: subprocess.Popen[str]

    def stats(self) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            async with (
                aiohttp.ClientSession() as s,
                s.get(self.site + "/__infisical_testing__/stats") as r,
            ):
                return dict(await r.json())

        return asyncio.run(fetch())

    def control(self, method: str, path: str, payload: Any = None) -> None:
        async def send() -> None:
            async with (
                aiohttp.ClientSession() as s,
                s.request(method, self.site + "/__infisical_testing__" + path, json=payload) as r,
            ):
                assert r.status == 200, await r.text()

        asyncio.run(send())


def best(rounds: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(rounds))


def best_of(rounds: int, subjects: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Each subject's best round, with the rounds of all subjects interleaved (A B C A B C)
    so that a slow spell of the shared machine falls on the floor and the subjects alike."""
    results = dict.fromkeys(subjects, float("inf"))
    for _ in range(rounds):
        for name, fn in subjects.items():
            results[name] = min(results[name], fn())
    return results


def start_server() -> Server:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infisical_async.testing",
            "--access-token-ttl",
            "86400",
            "--access-token-max-ttl",
            "864000",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    return Server(
        info["site_url"],
        info["client_id"],
        info["client_secret"],
        info["project_id"],
        info["project_slug"],
        proc,
    )


async def login(server: Server, session: aiohttp.ClientSession) -> str:
    async with session.post(
        server.site + "/api/v1/auth/universal-auth/login",
        json={"clientId": server.client_id, "clientSecret": server.client_secret},
    ) as r:
        return str((await r.json())["accessToken"])


async def seed(server: Server) -> None:
    async with aiohttp.ClientSession() as s:
        headers = {"Authorization": f"Bearer {await login(server, s)}"}
        base = {"projectId": server.project_id, "environment": "dev"}
        async with s.post(
            server.site + "/api/v4/secrets/DATABASE_URL",
            headers=headers,
            json={**base, "secretValue": "postgres://app:pw@db:5432/app"},
        ) as r:
            assert r.status == 200
        async with s.post(
            server.site + "/api/v2/folders", headers=headers, json={**base, "name": "big"}
        ) as r:
            assert r.status == 200
        secrets = [
            {
                "secretKey": f"KEY_{i:04d}",
                "secretValue": f"value-{i}-" + "x" * 40,
                "secretComment": "benchmark",
            }
            for i in range(1000)
        ]
        async with s.post(
            server.site + "/api/v4/secrets/batch",
            headers=headers,
            json={**base, "secretPath": "/big", "secrets": secrets},
        ) as r:
            assert r.status == 200


def async_client(server: Server, **options: Any) -> Any:
    from infisical_async import AsyncInfisicalClient, UniversalAuth

    return AsyncInfisicalClient(
        site_url=server.site,
        project_id=server.project_id,
        environment="dev",
        auth=UniversalAuth(client_id=server.client_id, client_secret=server.client_secret),
        **options,
    )


def sync_client(server: Server, **options: Any) -> Any:
    from infisical_sync import InfisicalClient, UniversalAuth

    return InfisicalClient(
        site_url=server.site,
        project_id=server.project_id,
        environment="dev",
        auth=UniversalAuth(client_id=server.client_id, client_secret=server.client_secret),
        **options,
    )


def official_client(server: Server, cache_ttl: int | None) -> Any:
    try:
        from infisical_sdk import InfisicalSDKClient
    except ImportError:
        return None
    client = InfisicalSDKClient(host=server.site, cache_ttl=cache_ttl)
    client.auth.universal_auth.login(client_id=server.client_id, client_secret=server.client_secret)
    return client


def timed_async(
    n: int,
    concurrency: int,
    make: Callable[[], Any],
    call: Callable[[Any], Awaitable[Any]],
    close: Callable[[Any], Awaitable[None]],
) -> Callable[[], float]:
    """Seconds per call for ``n`` calls spread over ``concurrency`` tasks, one fresh loop."""

    def round_() -> float:
        async def main() -> float:
            subject = make()
            await call(subject)  # warm: login, connection
            per_task = n // concurrency

            async def worker() -> None:
                for _ in range(per_task):
                    await call(subject)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            await close(subject)
            return elapsed / (per_task * concurrency)

        return asyncio.run(main())

    return round_


def timed_threads(n: int, concurrency: int, call: Callable[[], Any]) -> Callable[[], float]:
    def round_() -> float:
        call()
        per = n // concurrency
        if concurrency == 1:
            started = time.perf_counter()
            for _ in range(n):
                call()
            return (time.perf_counter() - started) / n
        with ThreadPoolExecutor(concurrency) as pool:
            started = time.perf_counter()
            list(pool.map(lambda _: [call() for _ in range(per)], range(concurrency)))
            return (time.perf_counter() - started) / (per * concurrency)

    return round_


class RawAiohttp:
    """The floor: the same HTTP call with a bare session, JSON decoded to dicts."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.session: aiohttp.ClientSession | None = None
        self.headers: dict[str, str] = {}

    async def open(self) -> RawAiohttp:
        self.session = aiohttp.ClientSession()
        self.headers = {"Authorization": f"Bearer {await login(self.server, self.session)}"}
        return self

    async def get(self, path: str, params: dict[str, str]) -> Any:
        assert self.session is not None
        async with self.session.get(
            self.server.site + path, params=params, headers=self.headers
        ) as r:
            return json.loads(await r.read())

    async def close(self) -> None:
        assert self.session is not None
        await self.session.close()


GET_TARGETS = {
    # (subject, concurrency): the ceiling as a ratio to raw aiohttp
    ("infisical_async", 1): 1.05,
    ("infisical_async", 64): 1.10,
    ("infisical_sync", 1): 1.15,
    ("infisical_sync", 64): 1.5,
}


def target_row(group: str, subject: str, value: float, unit: str, base: float, limit: float) -> Row:
    return Row(
        group, subject, value, unit, value / base, f"<= {limit:.2f}x raw", value / base <= limit
    )


def official_get(official: Any, server: Server) -> Callable[[], Any]:
    def call() -> Any:
        return official.secrets.get_secret_by_name(
            secret_name="DATABASE_URL",
            project_id=server.project_id,
            environment_slug="dev",
            secret_path="/",
        )

    return call


def measure_gets(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    """Every call a request of its own. Read coalescing is turned off for these rows: with
    it (the default), identical reads in flight together share one request, which is less
    HTTP work than the floor does; its own rows show what the default costs and gives."""
    params = {"projectId": server.project_id, **PARAMS}
    path = "/api/v4/secrets/DATABASE_URL"
    official = official_client(server, cache_ttl=None)
    sync = sync_client(server, coalesce_reads=False)
    try:
        for concurrency, label in ((1, "sequential"), (64, "64 concurrent")):
            group = f"uncached get, {label}"

            async def raw_call(r: RawAiohttp) -> Any:
                if r.session is None:
                    await r.open()
                return await r.get(path, params)

            def get(c: Any) -> Awaitable[Any]:
                return c.secrets.get("DATABASE_URL")  # type: ignore[no-any-return]

            async def close(c: Any) -> None:
                await c.aclose()

            subjects: dict[str, Callable[[], float]] = {
                "raw": timed_async(
                    n, concurrency, lambda: RawAiohttp(server), raw_call, lambda r: r.close()
                ),
                "async": timed_async(
                    n, concurrency, lambda: async_client(server, coalesce_reads=False), get, close
                ),
                "sync": timed_threads(n, concurrency, lambda: sync.secrets.get("DATABASE_URL")),
                "default": timed_async(n, concurrency, lambda: async_client(server), get, close),
            }
            if official is not None:
                subjects["official"] = timed_threads(n, concurrency, official_get(official, server))
            got = best_of(rounds, subjects)
            raw = got["raw"]
            rows.append(Row(group, "raw aiohttp + json (floor)", raw * 1e6, "us/call", 1.0))
            limit = GET_TARGETS["infisical_async", concurrency]
            rows.append(
                target_row(
                    group, "infisical_async", got["async"] * 1e6, "us/call", raw * 1e6, limit
                )
            )
            limit = GET_TARGETS["infisical_sync", concurrency]
            subject = "infisical_sync" + (" (64 threads)" if concurrency > 1 else "")
            rows.append(target_row(group, subject, got["sync"] * 1e6, "us/call", raw * 1e6, limit))
            rows.append(
                Row(
                    group,
                    "infisical_async, coalescing on (default)",
                    got["default"] * 1e6,
                    "us/call",
                    got["default"] / raw,
                )
            )
            if official is not None:
                subject = "official infisicalsdk" + (" (64 threads)" if concurrency > 1 else "")
                theirs = got["official"]
                rows.append(Row(group, subject, theirs * 1e6, "us/call", theirs / raw))
    finally:
        sync.close()
        if official is not None:
            official.close()


def cpu_seconds() -> float:
    """User + system CPU of this process, every thread included (the sync client's loop)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure_cpu(server: Server, calls: int, rounds: int, rows: list[Row]) -> None:
    """Client CPU per uncached get: the server runs in its own process, so this process's
    CPU is the client's (and the event loop's) alone."""
    group = f"client CPU per uncached get ({calls:,} calls)"
    params = {"projectId": server.project_id, **PARAMS}
    path = "/api/v4/secrets/DATABASE_URL"

    def async_cpu(
        make: Callable[[], Any],
        call: Callable[[Any], Awaitable[Any]],
        close: Callable[[Any], Awaitable[None]],
    ) -> Callable[[], float]:
        def round_() -> float:
            async def main() -> float:
                subject = make()
                await call(subject)
                before = cpu_seconds()
                for _ in range(calls):
                    await call(subject)
                used = cpu_seconds() - before
                await close(subject)
                return used / calls

            return asyncio.run(main())

        return round_

    def thread_cpu(call: Callable[[], Any]) -> Callable[[], float]:
        def round_() -> float:
            call()
            before = cpu_seconds()
            for _ in range(calls):
                call()
            return (cpu_seconds() - before) / calls

        return round_

    async def raw_call(r: RawAiohttp) -> Any:
        if r.session is None:
            await r.open()
        return await r.get(path, params)

    def get(c: Any) -> Awaitable[Any]:
        return c.secrets.get("DATABASE_URL")  # type: ignore[no-any-return]

    async def close(c: Any) -> None:
        await c.aclose()

    official = official_client(server, cache_ttl=None)
    sync = sync_client(server, coalesce_reads=False)
    try:
        subjects: dict[str, Callable[[], float]] = {
            "raw": async_cpu(lambda: RawAiohttp(server), raw_call, lambda r: r.close()),
            "async": async_cpu(lambda: async_client(server, coalesce_reads=False), get, close),
            "default": async_cpu(lambda: async_client(server), get, close),
            "sync": thread_cpu(lambda: sync.secrets.get("DATABASE_URL")),
        }
        if official is not None:
            subjects["official"] = thread_cpu(official_get(official, server))
        got = best_of(rounds, subjects)
    finally:
        sync.close()
        if official is not None:
            official.close()
    raw = got["raw"]
    rows.append(Row(group, "raw aiohttp + json (floor)", raw * 1e6, "us CPU/call", 1.0))
    rows.append(
        target_row(group, "infisical_async", got["async"] * 1e6, "us CPU/call", raw * 1e6, 1.10)
    )
    rows.append(
        Row(
            group,
            "infisical_async, coalescing on (default)",
            got["default"] * 1e6,
            "us CPU/call",
            got["default"] / raw,
        )
    )
    rows.append(
        Row(
            group,
            "infisical_sync (both threads)",
            got["sync"] * 1e6,
            "us CPU/call",
            got["sync"] / raw,
        )
    )
    if official is not None:
        theirs = got["official"]
        rows.append(Row(group, "official infisicalsdk", theirs * 1e6, "us CPU/call", theirs / raw))


def measure_thread_hop(n: int, rounds: int, rows: list[Row]) -> None:
    """What any blocking call pays to reach a background event loop and back."""
    from anyio.from_thread import start_blocking_portal

    from infisical_sync._runner import PortalRunner

    async def noop() -> None:
        return None

    runner = PortalRunner()
    try:
        with start_blocking_portal(backend="asyncio") as portal:
            loop = portal.call(asyncio.get_running_loop)
            for threads in (1, 64):
                group = f"thread hop to the loop (no-op), {threads} thread" + "s" * (threads > 1)
                anyio_hop = best(
                    rounds, timed_threads(n, threads, lambda: portal.start_task_soon(noop).result())
                )
                direct = best(
                    rounds,
                    timed_threads(
                        n, threads, lambda: asyncio.run_coroutine_threadsafe(noop(), loop).result()
                    ),
                )
                mine = best(rounds, timed_threads(n, threads, lambda: runner.call(noop)))
                rows.append(
                    Row(group, "anyio portal.start_task_soon", anyio_hop * 1e6, "us/call", 1.0)
                )
                rows.append(
                    Row(
                        group,
                        "asyncio.run_coroutine_threadsafe",
                        direct * 1e6,
                        "us/call",
                        direct / anyio_hop,
                    )
                )
                rows.append(
                    Row(
                        group,
                        "PortalRunner.call (used: lock + shared wake-up)",
                        mine * 1e6,
                        "us/call",
                        mine / anyio_hop,
                    )
                )
    finally:
        runner.close(None)


def measure_cache_hits(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    group = "cached get (hit)"

    def dict_floor() -> float:
        store = {("get", "DATABASE_URL"): object()}
        started = time.perf_counter()
        for _ in range(n):
            store.get(("get", "DATABASE_URL"))
        return (time.perf_counter() - started) / n

    floor = best(rounds, dict_floor)
    rows.append(Row(group, "dict lookup (floor)", floor * 1e6, "us/call", 1.0))

    async def async_hits() -> float:
        client = async_client(server, cache_ttl=600)
        get = client.secrets.get
        await get("DATABASE_URL")
        results = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(n):
                await get("DATABASE_URL")
            results.append((time.perf_counter() - started) / n)
        await client.aclose()
        return min(results)

    mine = asyncio.run(async_hits())
    rows.append(
        Row(
            group,
            "infisical_async",
            mine * 1e6,
            "us/call",
            mine / floor,
            "<= 1.5 us",
            mine * 1e6 <= 1.5,
        )
    )
    with sync_client(server, cache_ttl=600) as client:
        client.secrets.get("DATABASE_URL")
        sync = best(rounds, timed_threads(n, 1, lambda: client.secrets.get("DATABASE_URL")))
        rows.append(
            Row(
                group,
                "infisical_sync (answered in the caller)",
                sync * 1e6,
                "us/call",
                sync / floor,
                "<= 3 us",
                sync * 1e6 <= 3,
            )
        )
        runner, async_get = client._runner, client._async.secrets.get
        crossing = best(
            rounds,
            timed_threads(max(n // 50, 50), 1, lambda: runner.call(async_get, "DATABASE_URL")),
        )
        rows.append(
            Row(
                group,
                "infisical_sync via the loop thread (rejected)",
                crossing * 1e6,
                "us/call",
                crossing / floor,
            )
        )
    official = official_client(server, cache_ttl=600)
    if official is not None:
        theirs = best(rounds, timed_threads(max(n // 10, 100), 1, official_get(official, server)))
        rows.append(Row(group, "official infisicalsdk", theirs * 1e6, "us/call", theirs / floor))
        official.close()


def measure_list(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    group = "list 1,000 secrets"
    params = {
        "projectId": server.project_id,
        **PARAMS,
        "secretPath": "/big",
        "recursive": "false",
        "includeImports": "true",
    }

    async def raw_call(r: RawAiohttp) -> Any:
        if r.session is None:
            await r.open()
        return await r.get("/api/v4/secrets", params)

    official = official_client(server, cache_ttl=None)
    subjects: dict[str, Callable[[], float]] = {
        "raw": timed_async(n, 1, lambda: RawAiohttp(server), raw_call, lambda r: r.close()),
        "async": timed_async(
            n,
            1,
            lambda: async_client(server, coalesce_reads=False),
            lambda c: c.secrets.list(secret_path="/big"),
            lambda c: c.aclose(),
        ),
    }
    if official is not None:
        subjects["official"] = timed_threads(
            n,
            1,
            lambda: official.secrets.list_secrets(
                project_id=server.project_id, environment_slug="dev", secret_path="/big"
            ),
        )
    try:
        got = best_of(rounds, subjects)
    finally:
        if official is not None:
            official.close()
    raw, mine = got["raw"], got["async"]
    rows.append(Row(group, "raw aiohttp + json.loads (floor)", raw * 1e3, "ms/call", 1.0))
    rows.append(
        Row(
            group,
            "infisical_async (into models)",
            mine * 1e3,
            "ms/call",
            mine / raw,
            "<= 1.20x raw",
            mine / raw <= 1.2,
        )
    )
    if official is not None:
        theirs = got["official"]
        rows.append(Row(group, "official infisicalsdk", theirs * 1e3, "ms/call", theirs / raw))


def measure_list_parse(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    """The list answer's CPU alone, without the network: body bytes to dicts, to models."""
    from infisical_async._serde import loads, structure
    from infisical_async.models import SecretList

    group = "list 1,000 secrets, parsing only"
    params = {
        "projectId": server.project_id,
        **PARAMS,
        "secretPath": "/big",
        "recursive": "false",
        "includeImports": "true",
    }

    async def fetch() -> bytes:
        raw = await RawAiohttp(server).open()
        assert raw.session is not None
        async with raw.session.get(
            server.site + "/api/v4/secrets", params=params, headers=raw.headers
        ) as r:
            body = await r.read()
        await raw.close()
        return body

    body = asyncio.run(fetch())

    def per_call(fn: Callable[[], Any]) -> Callable[[], float]:
        def round_() -> float:
            started = time.perf_counter()
            for _ in range(n):
                fn()
            return (time.perf_counter() - started) / n

        return round_

    got = best_of(
        rounds,
        {
            "json": per_call(lambda: json.loads(body)),
            "loads": per_call(lambda: loads(body)),
            "models": per_call(lambda: structure(loads(body), SecretList)),
        },
    )
    floor, decode, models = got["json"], got["loads"], got["models"]
    rows.append(Row(group, "json.loads (floor)", floor * 1e3, "ms/call", 1.0))
    rows.append(
        Row(
            group,
            "the client's loads (orjson if installed)",
            decode * 1e3,
            "ms/call",
            decode / floor,
        )
    )
    rows.append(
        Row(
            group,
            "the client's loads + structure(SecretList)",
            models * 1e3,
            "ms/call",
            models / floor,
        )
    )


def measure_storm(server: Server, rows: list[Row]) -> None:
    group = "1,000 concurrent calls, expired token"

    async def storm() -> tuple[float, int]:
        client = async_client(server, max_retries=0)
        await client.secrets.get("DATABASE_URL")
        server_stats_before = await asyncio.to_thread(server.stats)
        await asyncio.to_thread(server.control, "POST", "/tokens/expire")
        started = time.perf_counter()
        await asyncio.gather(*(client.secrets.get("DATABASE_URL") for _ in range(1000)))
        elapsed = time.perf_counter() - started
        after = await asyncio.to_thread(server.stats)
        route = "POST /api/v1/auth/universal-auth/login"
        logins = after["requests"].get(route, 0) - server_stats_before["requests"].get(route, 0)
        await client.aclose()
        return elapsed, logins

    elapsed, logins = asyncio.run(storm())
    rows.append(
        Row(group, "logins during the storm", logins, "logins", None, "exactly 1", logins == 1)
    )
    rows.append(Row(group, "total time", elapsed * 1e3, "ms", None))


def measure_renewal_boundary(server: Server, n: int, rows: list[Row]) -> None:
    """Latency of calls that find the access token due for renewal (and of the call right
    after, which overlaps the background renewal) against all other calls."""
    group = "calls across a token renewal"

    async def run() -> tuple[list[float], list[float], int]:
        client = async_client(server)
        skew = [0.0]
        # The token manager's monotonic clock, moved past the renewal point every 32 calls
        # (the server's tokens live a day; renewal is due at two thirds of that).
        client._state.tokens._clock = lambda: time.monotonic() + skew[0]
        await client.secrets.get("DATABASE_URL")
        before = (await asyncio.to_thread(server.stats))["requests"]
        boundary: list[float] = []
        elsewhere: list[float] = []
        for i in range(n):
            if i % 32 == 31:
                skew[0] += 86400 * 0.7
            started = time.perf_counter()
            await client.secrets.get("DATABASE_URL")
            took = time.perf_counter() - started
            (boundary if i % 32 in (31, 0) else elsewhere).append(took)
        after = (await asyncio.to_thread(server.stats))["requests"]
        await client.aclose()
        renew = "POST /api/v1/auth/token/renew"
        login = "POST /api/v1/auth/universal-auth/login"
        refreshes = sum(after.get(r, 0) - before.get(r, 0) for r in (renew, login))
        return boundary, elsewhere, refreshes

    async def raw_run() -> tuple[list[float], list[float]]:
        """The floor: raw aiohttp sending the same renewal beside the same gets, so the
        server's own work for a renewal (on this machine's two cores) is in it too."""
        raw = await RawAiohttp(server).open()
        assert raw.session is not None
        session = raw.session
        params = {"projectId": server.project_id, **PARAMS}
        path = "/api/v4/secrets/DATABASE_URL"
        await raw.get(path, params)

        async def renew() -> None:
            token = raw.headers["Authorization"].removeprefix("Bearer ")
            async with session.post(
                server.site + "/api/v1/auth/token/renew", json={"accessToken": token}
            ) as r:
                raw.headers = {"Authorization": f"Bearer {(await r.json())['accessToken']}"}

        boundary: list[float] = []
        elsewhere: list[float] = []
        renewals: set[asyncio.Task[None]] = set()
        for i in range(n):
            started = time.perf_counter()
            if i % 32 == 31:
                renewals.add(asyncio.ensure_future(renew()))
            await raw.get(path, params)
            took = time.perf_counter() - started
            (boundary if i % 32 in (31, 0) else elsewhere).append(took)
        await asyncio.gather(*renewals)
        await raw.close()
        return boundary, elsewhere

    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    raw_boundary, raw_elsewhere = asyncio.run(raw_run())
    boundary, elsewhere, refreshes = asyncio.run(run())
    raw_base = p99(raw_elsewhere)
    rows.append(Row(group, "raw aiohttp: p99 of other calls", raw_base * 1e6, "us", 1.0))
    raw_crossing = p99(raw_boundary)
    rows.append(
        Row(
            group,
            "raw aiohttp: p99 beside the same renewal (floor)",
            raw_crossing * 1e6,
            "us",
            raw_crossing / raw_base,
        )
    )
    base = p99(elsewhere)
    rows.append(Row(group, "infisical_async: p99 of other calls", base * 1e6, "us", 1.0))
    crossing = p99(boundary)
    rows.append(
        Row(
            group,
            f"infisical_async: p99 at a renewal boundary ({refreshes} renewals)",
            crossing * 1e6,
            "us",
            crossing / base,
            "~1x",
            crossing / base < 1.5,
        )
    )
    rows.append(
        Row(
            group,
            "infisical_async at the boundary vs the floor's",
            crossing * 1e6,
            "us",
            crossing / raw_crossing,
        )
    )


def measure_leases(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    from services import ensure_services

    from infisical_async import SqlDatabaseProvider

    group = "lease create + renew + delete"
    pg = urlsplit(ensure_services()["postgres"])

    async def setup() -> None:
        client = async_client(server)
        await client.dynamic_secrets.create(
            "bench-pg",
            default_ttl="1h",
            provider=SqlDatabaseProvider(
                client="postgres",
                host=pg.hostname or "",
                port=pg.port or 5432,
                database=pg.path.lstrip("/"),
                username=pg.username or "",
                password=pg.password or "",
                creation_statement=PG_CREATE,
                revocation_statement='DROP ROLE IF EXISTS "{{username}}";',
            ),
        )
        await client.aclose()

    asyncio.run(setup())
    location = {"projectSlug": server.project_slug, "environmentSlug": "dev", "path": "/"}

    async def raw_round(r: RawAiohttp) -> None:
        if r.session is None:
            await r.open()
        assert r.session is not None
        base = server.site + "/api/v1/dynamic-secrets/leases"
        async with r.session.post(
            base, headers=r.headers, json={**location, "dynamicSecretName": "bench-pg", "ttl": "5m"}
        ) as resp:
            lease_id = (await resp.json())["lease"]["id"]
        async with r.session.post(
            f"{base}/{lease_id}/renew", headers=r.headers, json={**location, "ttl": "5m"}
        ) as resp:
            await resp.read()
        async with r.session.delete(f"{base}/{lease_id}", headers=r.headers, json=location) as resp:
            await resp.read()

    raw = best(
        rounds, timed_async(n, 1, lambda: RawAiohttp(server), raw_round, lambda r: r.close())
    )
    rows.append(Row(group, "raw aiohttp (floor)", raw * 1e3, "ms/round trip", 1.0))

    async def mine_round(c: Any) -> None:
        leases = c.dynamic_secrets.leases
        lease = await leases.create("bench-pg", ttl="5m")
        await leases.renew(lease.id, ttl="5m")
        await leases.delete(lease.id)

    mine = best(
        rounds,
        timed_async(
            n,
            1,
            lambda: async_client(server, project_slug=server.project_slug),
            mine_round,
            lambda c: c.aclose(),
        ),
    )
    rows.append(Row(group, "infisical_async", mine * 1e3, "ms/round trip", mine / raw))


def measure_imports(repetitions: int, rows: list[Row]) -> None:
    """Fresh interpreters, median of the repetitions (see benchmarks/startup.py)."""
    group = "import time (fresh interpreter)"
    for r in startup.import_rows(repetitions):
        rows.append(
            Row(
                group,
                r["subject"],
                r["value"],
                "ms",
                r["ratio"],
                r["target"],
                r["met"],
                r["spread"],
            )
        )


def measure_cold_start(server: Server, repetitions: int, rows: list[Row]) -> None:
    """import + login + first get in a fresh interpreter, against a raw aiohttp script."""
    info = {
        "site": server.site,
        "client_id": server.client_id,
        "client_secret": server.client_secret,
        "project_id": server.project_id,
    }
    results = startup.cold_start_rows(info, repetitions)
    group = "cold start: import + login + first get"
    for r in results:
        rows.append(
            Row(
                group,
                r["subject"],
                r["value"],
                "ms",
                r["ratio"],
                r["target"],
                r["met"],
                r["spread"],
            )
        )
    group = "cold start: whole process, start to exit"
    for r in results:
        rows.append(
            Row(group, r["subject"], r["whole"], "ms", r["whole_ratio"], note=r["whole_spread"])
        )


RSS_SCRIPT = r"""
import asyncio, json, resource, sys
info = json.loads(sys.argv[1]); mode = sys.argv[2]
async def main():
    import aiohttp
    if mode == "raw":
        async with aiohttp.ClientSession() as s:
            async with s.post(info["site"] + "/api/v1/auth/universal-auth/login", json={
                    "clientId": info["client_id"], "clientSecret": info["client_secret"]}) as r:
                token = (await r.json())["accessToken"]
            async with s.get(info["site"] + "/api/v4/secrets", headers={
                    "Authorization": "Bearer " + token}, params={
                    "projectId": info["project_id"], "environment": "dev",
                    "secretPath": "/big"}) as r:
                held = json.loads(await r.read())
    else:
        from infisical_async import AsyncInfisicalClient, UniversalAuth
        async with AsyncInfisicalClient(site_url=info["site"], project_id=info["project_id"],
                environment="dev", auth=UniversalAuth(client_id=info["client_id"],
                client_secret=info["client_secret"])) as c:
            held = await c.secrets.list(secret_path="/big")
    assert len(held["secrets"] if isinstance(held, dict) else held) == 1000
asyncio.run(main())
# ru_maxrss survives exec (it would report the parent's peak); VmHWM belongs to this image.
try:
    with open("/proc/self/status") as status:
        print(next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")))
except OSError:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure_rss(server: Server, rows: list[Row]) -> None:
    group = "peak RSS, client holding 1,000 secrets"
    info = json.dumps(
        {
            "site": server.site,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
            "project_id": server.project_id,
        }
    )

    def rss(mode: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", RSS_SCRIPT, info, mode],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.strip()) / 1024

    base = min(rss("raw") for _ in range(2))
    rows.append(Row(group, "raw aiohttp + json dicts (floor)", base, "MiB", 1.0))
    mine = min(rss("client") for _ in range(2))
    rows.append(Row(group, "infisical_async (SecretList of models)", mine, "MiB", mine / base))


def print_table(rows: list[Row]) -> None:
    print(
        f"{'measurement':<42} {'subject':<58} {'value':>10} {'unit':<13} {'ratio':>7}  "
        f"{'target':<16} {'met':<4} noise"
    )
    group = None
    for row in rows:
        label = row.group if row.group != group else ""
        group = row.group
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        met = "" if row.met is None else ("yes" if row.met else "NO")
        value = f"{row.value:.0f}" if row.unit == "logins" else f"{row.value:.2f}"
        print(
            f"{label:<42} {row.subject:<58} {value:>10} {row.unit:<13} {ratio:>7}  "
            f"{row.target:<16} {met:<4} {row.note}".rstrip()
        )


def chart(rows: list[Row], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no chart written)")
        return
    ratios = [r for r in rows if r.ratio is not None and r.ratio != 1.0]
    fig, ax = plt.subplots(figsize=(10, 0.35 * len(ratios) + 1))
    values = [r.ratio or 1.0 for r in ratios]
    bars = ax.barh([f"{r.group}: {r.subject}" for r in ratios], values)
    for bar, value in zip(bars, values, strict=True):
        ax.text(
            value * 1.05,
            bar.get_y() + bar.get_height() / 2,
            f"{value:.2f}x",
            va="center",
            fontsize=8,
        )
    ax.set_xscale("log")  # cache hits and thread hops span three orders of magnitude
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("time (or memory) relative to the baseline of the same run (log scale)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    print(f"chart written to {path}")


MEASUREMENTS = (
    "gets",
    "cpu",
    "thread-hop",
    "cache-hits",
    "list",
    "list-parse",
    "storm",
    "renewal",
    "leases",
    "imports",
    "cold-start",
    "rss",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few hundred iterations")
    parser.add_argument("--png", type=Path, default=ROOT / "benchmarks" / "results.png")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--only",
        default=",".join(MEASUREMENTS),
        help=f"comma-separated subset of: {', '.join(MEASUREMENTS)}",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(MEASUREMENTS):
        parser.error(f"unknown measurements: {', '.join(sorted(only - set(MEASUREMENTS)))}")
    n, rounds = (256, 1) if args.quick else (2048, 5)
    cpu_calls, repetitions = (500, 1) if args.quick else (10_000, 9)
    server = start_server()
    rows: list[Row] = []
    steps: dict[str, Callable[[], None]] = {
        "gets": lambda: measure_gets(server, n, rounds, rows),
        "cpu": lambda: measure_cpu(server, cpu_calls, rounds, rows),
        "thread-hop": lambda: measure_thread_hop(n, rounds, rows),
        "cache-hits": lambda: measure_cache_hits(server, n * 20, rounds, rows),
        "list": lambda: measure_list(server, max(n // 64, 4), rounds, rows),
        "list-parse": lambda: measure_list_parse(server, max(n // 32, 8), rounds, rows),
        "storm": lambda: measure_storm(server, rows),
        "renewal": lambda: measure_renewal_boundary(server, n, rows),
        "leases": lambda: measure_leases(server, max(n // 64, 4), rounds, rows),
        "imports": lambda: measure_imports(repetitions, rows),
        "cold-start": lambda: measure_cold_start(server, repetitions, rows),
        "rss": lambda: measure_rss(server, rows),
    }
    try:
        asyncio.run(seed(server))
        for name in MEASUREMENTS:
            if name in only:
                steps[name]()
    finally:
        server.process.terminate()
        server.process.wait(10)
    print_table(rows)
    if args.json is not None:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in rows], indent=1))
    if not args.quick and only == set(MEASUREMENTS):
        chart(rows, args.png)


if __name__ == "__main__":
    main()
