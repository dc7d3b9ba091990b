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
import json
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


def measure_gets(server: Server, n: int, rounds: int, rows: list[Row]) -> None:
    params = {"projectId": server.project_id, **PARAMS}
    path = "/api/v4/secrets/DATABASE_URL"
    official = official_client(server, cache_ttl=None)
    for concurrency, label in ((1, "sequential"), (64, "64 concurrent")):
        group = f"uncached get, {label}"

        async def raw_call(r: RawAiohttp) -> Any:
            if r.session is None:
                await r.open()
            return await r.get(path, params)

        raw = best(
            rounds,
            timed_async(n, concurrency, lambda: RawAiohttp(server), raw_call, lambda r: r.close()),
        )
        rows.append(Row(group, "raw aiohttp + json (floor)", raw * 1e6, "us/call", 1.0))
        mine = best(
            rounds,
            timed_async(
                n,
                concurrency,
                lambda: async_client(server),
                lambda c: c.secrets.get("DATABASE_URL"),
                lambda c: c.aclose(),
            ),
        )
        rows.append(
            Row(
                group,
                "infisical_async",
                mine * 1e6,
                "us/call",
                mine / raw,
                "<= 1.10x raw" if concurrency == 1 else "",
                mine / raw <= 1.10 if concurrency == 1 else None,
            )
        )
        with sync_client(server) as client:
            sync = best(
                rounds, timed_threads(n, concurrency, lambda: client.secrets.get("DATABASE_URL"))
            )
        rows.append(
            Row(
                group,
                "infisical_sync",
                sync * 1e6,
                "us/call",
                sync / raw,
                "<= 1.3x raw" if concurrency == 1 else "",
                sync / raw <= 1.3 if concurrency == 1 else None,
            )
        )
        if official is not None:

            def official_get() -> Any:
                return official.secrets.get_secret_by_name(
                    secret_name="DATABASE_URL",
                    project_id=server.project_id,
                    environment_slug="dev",
                    secret_path="/",
                )

            theirs = best(rounds, timed_threads(n, concurrency, official_get))
            rows.append(Row(group, "official infisicalsdk", theirs * 1e6, "us/call", theirs / raw))
    if official is not None:
        official.close()


def measure_thread_hop(n: int, rounds: int, rows: list[Row]) -> None:
    """What any blocking call pays to reach a background event loop and back."""
    from anyio.from_thread import start_blocking_portal

    group = "thread hop to the loop (no-op)"

    async def noop() -> None:
        return None

    with start_blocking_portal(backend="asyncio") as portal:
        loop = portal.call(asyncio.get_running_loop)
        anyio_hop = best(rounds, timed_threads(n, 1, lambda: portal.start_task_soon(noop).result()))
        direct = best(
            rounds,
            timed_threads(n, 1, lambda: asyncio.run_coroutine_threadsafe(noop(), loop).result()),
        )
    rows.append(Row(group, "anyio portal.start_task_soon", anyio_hop * 1e6, "us/call", 1.0))
    rows.append(
        Row(group, "run_coroutine_threadsafe (used)", direct * 1e6, "us/call", direct / anyio_hop)
    )


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

        def official_get() -> Any:
            return official.secrets.get_secret_by_name(
                secret_name="DATABASE_URL",
                project_id=server.project_id,
                environment_slug="dev",
                secret_path="/",
            )

        theirs = best(rounds, timed_threads(max(n // 10, 100), 1, official_get))
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

    raw = best(rounds, timed_async(n, 1, lambda: RawAiohttp(server), raw_call, lambda r: r.close()))
    rows.append(Row(group, "raw aiohttp + json.loads (floor)", raw * 1e3, "ms/call", 1.0))
    mine = best(
        rounds,
        timed_async(
            n,
            1,
            lambda: async_client(server),
            lambda c: c.secrets.list(secret_path="/big"),
            lambda c: c.aclose(),
        ),
    )
    rows.append(
        Row(
            group,
            "infisical_async (into models)",
            mine * 1e3,
            "ms/call",
            mine / raw,
            "<= 1.5x raw",
            mine / raw <= 1.5,
        )
    )
    official = official_client(server, cache_ttl=None)
    if official is not None:
        theirs = best(
            rounds,
            timed_threads(
                n,
                1,
                lambda: official.secrets.list_secrets(
                    project_id=server.project_id, environment_slug="dev", secret_path="/big"
                ),
            ),
        )
        rows.append(Row(group, "official infisicalsdk", theirs * 1e3, "ms/call", theirs / raw))
        official.close()


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

    boundary, elsewhere, refreshes = asyncio.run(run())

    def p99(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    base = p99(elsewhere)
    rows.append(Row(group, "p99 of other calls (baseline)", base * 1e6, "us", 1.0))
    crossing = p99(boundary)
    rows.append(
        Row(
            group,
            f"p99 at a renewal boundary ({refreshes} renewals)",
            crossing * 1e6,
            "us",
            crossing / base,
            "~1x",
            crossing / base < 1.5,
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


def measure_imports(rounds: int, rows: list[Row]) -> None:
    group = "import time (fresh interpreter)"

    def import_time(module: str) -> float:
        code = (
            f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        return float(out.stdout)

    base = best(rounds, lambda: import_time("aiohttp"))
    rows.append(Row(group, "import aiohttp (floor)", base * 1e3, "ms", 1.0))
    for module in ("infisical_async", "infisical_sync"):
        value = best(rounds, lambda m=module: import_time(m))  # type: ignore[misc]
        rows.append(
            Row(
                group,
                f"import {module}",
                value * 1e3,
                "ms",
                value / base,
                "<= 1.1x aiohttp",
                value / base <= 1.1,
            )
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
        f"{'measurement':<40} {'subject':<46} {'value':>10} {'unit':<13} {'ratio':>7}  "
        f"{'target':<16} met"
    )
    group = None
    for row in rows:
        label = row.group if row.group != group else ""
        group = row.group
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else ""
        met = "" if row.met is None else ("yes" if row.met else "NO")
        value = f"{row.value:.0f}" if row.unit == "logins" else f"{row.value:.2f}"
        print(
            f"{label:<40} {row.subject:<46} {value:>10} {row.unit:<13} {ratio:>7}  "
            f"{row.target:<16} {met}"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a few hundred iterations")
    parser.add_argument("--png", type=Path, default=ROOT / "benchmarks" / "results.png")
    args = parser.parse_args()
    n, rounds = (256, 1) if args.quick else (2048, 3)
    server = start_server()
    rows: list[Row] = []
    try:
        asyncio.run(seed(server))
        measure_gets(server, n, rounds, rows)
        measure_thread_hop(n, rounds, rows)
        measure_cache_hits(server, n * 20, rounds, rows)
        measure_list(server, max(n // 64, 4), rounds, rows)
        measure_storm(server, rows)
        measure_renewal_boundary(server, n, rows)
        measure_leases(server, max(n // 64, 4), rounds, rows)
        measure_imports(rounds + 2, rows)
        measure_rss(server, rows)
    finally:
        server.process.terminate()
        server.process.wait(10)
    print_table(rows)
    if not args.quick:
        chart(rows, args.png)


if __name__ == "__main__":
    main()
