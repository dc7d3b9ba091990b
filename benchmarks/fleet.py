"""``python -m benchmarks.fleet``: a fleet behind one address against Cloud's rate limits.

N clients (default 200, spread over several processes, all from 127.0.0.1 like a fleet
behind one NAT address) start at once against the embedded server emulating Infisical
Cloud's Free plan with a short window. Each needs a list and 20 gets at start, then reads
the same again once a window for three windows. Reported side by side, one run:

* failed calls (goal 0) and 429s received (goal 0 with pacing on);
* requests sent against the minimum the workload needs (every read once per window);
* time until every client is ready against the limiter's theoretical minimum;
* p50/p99 call latency.

Variants: infisical-async with pacing on, with pacing off, with pacing on and every
client sharing one encrypted Redis cache (``shared``: each client has its own
``RedisCache``, as separate processes would, with a TTL of one window; its minimum is every
entry once per window for the whole fleet), and the official SDK (when installed; it has no
pacing and is run from threads, as a blocking client must be).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FREE_SECRETS_LIMIT = 120
"""The Free plan's per-route, per-IP budget for the secrets routes, per window."""


@dataclass
class Settings:
    clients: int
    processes: int
    gets: int
    window: float
    rounds: int
    redis_url: str = ""
    redis_prefix: str = ""


@dataclass
class Outcome:
    failures: int = 0
    latencies: list[float] = field(default_factory=list)
    ready_after: list[float] = field(default_factory=list)
    changed_at: float | None = None
    """Shared variant, the writing process: wall-clock time the change was sent."""
    received: list[float] = field(default_factory=list)
    """Shared variant: wall-clock time each client dropped its copies on the change."""
    reads: list[tuple[str, float]] = field(default_factory=list)
    """(entry, wall-clock time) of every read, to find the fewest fetches a shared cache
    with a TTL could have made (all processes run on this machine: one clock)."""


def start_server(window: float) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infisical_async.testing",
            "--rate-limits",
            "free",
            "--rate-window",
            str(window),
            "--access-token-ttl",
            "86400",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


async def control(site: str, method: str, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, site + "/__infisical_testing__" + path) as response,
    ):
        return await response.json()


async def seed(info: dict[str, Any], gets: int) -> None:
    from infisical_async import AsyncInfisicalClient, UniversalAuth

    async with AsyncInfisicalClient(
        site_url=info["site_url"],
        auth=UniversalAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
        project_id=info["project_id"],
        environment="dev",
    ) as client:
        await client.secrets.batch_create({f"KEY_{i:02d}": f"value-{i}" for i in range(gets)})


async def forget(settings: Settings) -> None:
    """Delete the shared variant's keys (entries expire by themselves; generations not)."""
    import redis.asyncio as redis_asyncio

    connection = redis_asyncio.Redis.from_url(settings.redis_url)
    try:
        keys = [k async for k in connection.scan_iter(f"{settings.redis_prefix}:*")]
        if keys:
            await connection.delete(*keys)
    finally:
        await connection.aclose()


def needs(settings: Settings) -> list[tuple[str, str | None]]:
    """One client's reads per round: a list, then the gets."""
    return [("list", None)] + [("get", f"KEY_{i:02d}") for i in range(settings.gets)]


PACING = {"paced": "host", "process": "process", "unpaced": "off", "shared": "host"}
"""Each variant of ours and its ``pace_rate_limits`` (``paced`` is the default)."""


async def run_ours(
    info: dict[str, Any],
    settings: Settings,
    count: int,
    pace: str,
    shared: bool = False,
    writer: bool = False,
    processes: int = 1,
) -> Outcome:
    from infisical_async import AsyncInfisicalClient, InfisicalError, UniversalAuth
    from infisical_async.cache import RedisCache

    def cache() -> RedisCache | None:
        if not shared:
            return None
        return RedisCache(
            settings.redis_url,
            secret="the fleet benchmark's shared secret",
            prefix=settings.redis_prefix,
            ttl=settings.window,
            # Waiting for another client's fetch may outlast a window of rate limiting.
            wait=max(5.0, 4 * settings.window),
            lock_ttl=max(10.0, 8 * settings.window),
        )

    outcome = Outcome()
    clients = [
        AsyncInfisicalClient(
            site_url=info["site_url"],
            auth=UniversalAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
            project_id=info["project_id"],
            environment="dev",
            cache_ttl=settings.window,
            pace_rate_limits=pace,  # type: ignore[arg-type]
            timeout=600,
            max_retries=50,
            cache=cache(),
        )
        for _ in range(count)
    ]
    started = time.monotonic()

    async def read(client: Any, kind: str, name: str | None) -> None:
        begun = time.monotonic()
        outcome.reads.append((f"{kind}:{name}", time.time()))
        try:
            if kind == "list":
                await client.secrets.list()
            else:
                await client.secrets.get(name)
        except InfisicalError:
            outcome.failures += 1
        outcome.latencies.append(time.monotonic() - begun)

    async def one(client: Any) -> None:
        for kind, name in needs(settings):
            await read(client, kind, name)
        outcome.ready_after.append(time.monotonic() - started)
        for _ in range(settings.rounds):
            await asyncio.sleep(settings.window)
            for kind, name in needs(settings):
                await read(client, kind, name)

    await asyncio.gather(*(one(c) for c in clients))
    if shared:
        await change_reach(clients, settings, outcome, writer=writer, processes=processes)
    else:
        await asyncio.gather(*(c.aclose() for c in clients))
    return outcome


async def change_reach(
    clients: list[Any], settings: Settings, outcome: Outcome, *, writer: bool, processes: int
) -> None:
    """Once every process has read its rounds, one client writes; every client notes when
    the broadcast dropped its in-memory copies (its next read then gets the new value)."""
    import redis.asyncio as redis_asyncio

    stops = []
    everyone = asyncio.Event()
    for client in clients:

        def note(site: str | None, project: str | None) -> None:
            outcome.received.append(time.time())
            if len(outcome.received) >= len(clients):
                everyone.set()

        stops.append(client._state.shared_cache.backend.subscribe(note))
    barrier = f"{settings.redis_prefix}:bench:ready"
    connection = redis_asyncio.Redis.from_url(settings.redis_url)
    try:
        await connection.incr(barrier)
        if writer:
            # The barrier is in Redis, shared by the processes: polled, not awaited.
            while int(await connection.get(barrier) or 0) < processes:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            outcome.changed_at = time.time()
            await clients[0].secrets.update("KEY_00", value="changed")
        with contextlib.suppress(asyncio.TimeoutError):  # those missing are reported
            await asyncio.wait_for(everyone.wait(), 10)
    finally:
        await connection.aclose()
        await asyncio.gather(*(c.aclose() for c in clients))
        for stop in stops:
            await stop()


def run_official(info: dict[str, Any], settings: Settings, count: int) -> Outcome:
    from infisical_sdk import InfisicalSDKClient

    outcome = Outcome()
    lock = threading.Lock()
    started = time.monotonic()

    def one() -> None:
        client = InfisicalSDKClient(host=info["site_url"], cache_ttl=math.ceil(settings.window))
        try:
            client.auth.universal_auth.login(
                client_id=info["client_id"], client_secret=info["client_secret"]
            )
        except Exception:
            with lock:
                outcome.failures += len(needs(settings)) * (1 + settings.rounds)
            return
        for round_ in range(1 + settings.rounds):
            if round_:
                time.sleep(settings.window)
            for kind, name in needs(settings):
                begun = time.monotonic()
                try:
                    if kind == "list":
                        client.secrets.list_secrets(
                            project_id=info["project_id"], environment_slug="dev", secret_path="/"
                        )
                    else:
                        client.secrets.get_secret_by_name(
                            secret_name=name,
                            project_id=info["project_id"],
                            environment_slug="dev",
                            secret_path="/",
                        )
                    failed = 0
                except Exception:
                    failed = 1
                with lock:
                    outcome.failures += failed
                    outcome.latencies.append(time.monotonic() - begun)
            if round_ == 0:
                with lock:
                    outcome.ready_after.append(time.monotonic() - started)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def worker(args: tuple[str, dict[str, Any], Settings, int, float, int, int]) -> dict[str, Any]:
    variant, info, settings, count, start_at, index, processes = args
    time.sleep(max(0.0, start_at - time.time()))  # every process starts at once
    if variant == "official":
        outcome = run_official(info, settings, count)
    else:
        outcome = asyncio.run(
            run_ours(
                info,
                settings,
                count,
                pace=PACING[variant],
                shared=variant == "shared",
                writer=index == 0,
                processes=processes,
            )
        )
    return {
        "failures": outcome.failures,
        "latencies": outcome.latencies,
        "ready_after": outcome.ready_after,
        "reads": outcome.reads,
        "changed_at": outcome.changed_at,
        "received": outcome.received,
    }


def fewest_fetches(reads: list[tuple[str, float]], ttl: float) -> int:
    """The fewest fetches that serve every read from one shared cache holding each answer
    for ``ttl`` seconds: per entry, a fetch at the first read not yet covered covers the
    next ``ttl`` seconds (greedy is optimal on a line)."""
    by_entry: dict[str, list[float]] = {}
    for entry, at in reads:
        by_entry.setdefault(entry, []).append(at)
    fetches = 0
    for times in by_entry.values():
        covered_until = -math.inf
        for at in sorted(times):
            if at >= covered_until:
                fetches += 1
                covered_until = at + ttl
    return fetches


def theoretical_ready(settings: Settings, readers: int) -> float:
    """Fixed windows of FREE_SECRETS_LIMIT per route: the get route is the bottleneck, and
    its last batch can go at the start of the last window it needs. ``readers``: how many
    clients must fetch for themselves (1 when they share a cache)."""
    gets = readers * settings.gets
    lists = readers
    windows = max(math.ceil(gets / FREE_SECRETS_LIMIT), math.ceil(lists / FREE_SECRETS_LIMIT))
    return (windows - 1) * settings.window


def measure(variant: str, settings: Settings) -> dict[str, Any]:
    proc, info = start_server(settings.window)
    try:
        asyncio.run(seed(info, settings.gets))
        asyncio.run(control(info["site_url"], "DELETE", "/stats"))
        before = asyncio.run(control(info["site_url"], "GET", "/stats"))
        per_process = [settings.clients // settings.processes] * settings.processes
        for i in range(settings.clients % settings.processes):
            per_process[i] += 1
        start_at = time.time() + 1.0
        counts = [n for n in per_process if n]
        jobs = [
            (variant, info, settings, n, start_at, index, len(counts))
            for index, n in enumerate(counts)
        ]
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(len(jobs)) as pool:
            results = pool.map(worker, jobs)
        after = asyncio.run(control(info["site_url"], "GET", "/stats"))
    finally:
        proc.terminate()
        proc.wait(10)
        if variant == "shared":
            asyncio.run(forget(settings))
    latencies = sorted(x for r in results for x in r["latencies"])
    ready = [x for r in results for x in r["ready_after"]]
    reads = [
        r for r in after["requests"] if r.startswith(("GET /api/v4/secrets", "GET /api/v3/secrets"))
    ]
    sent = sum(after["requests"][r] - before["requests"].get(r, 0) for r in reads)
    # Without a shared cache every client needs every read once per window; with one, the
    # fleet needs each entry once per window (the Redis TTL).
    readers = 1 if variant == "shared" else settings.clients
    minimum = readers * len(needs(settings)) * (1 + settings.rounds)
    reach: dict[str, Any] = {}
    if variant == "shared":  # the rounds of 200 clients spread past a TTL: count them
        reads = [tuple(x) for r in results for x in r["reads"]]
        minimum = max(minimum, fewest_fetches(reads, settings.window))  # type: ignore[arg-type]
        changed_at = next(r["changed_at"] for r in results if r["changed_at"] is not None)
        delays = sorted(at - changed_at for r in results for at in r["received"])
        reach = {
            "change reached (clients)": len(delays),
            "change reach p50 (ms)": statistics.median(delays) * 1e3,
            "change reach p99 (ms)": delays[max(0, math.ceil(len(delays) * 0.99) - 1)] * 1e3,
            "change reach max (ms)": delays[-1] * 1e3,
        }
    return {
        "variant": variant,
        "failed calls": sum(r["failures"] for r in results),
        "429s received": after["rateLimited"] - before["rateLimited"],
        "requests sent": sent,
        "minimum requests": minimum,
        "requests / minimum": sent / minimum,
        "all ready after (s)": max(ready) if ready else float("nan"),
        "theoretical minimum (s)": theoretical_ready(settings, readers),
        "p50 latency (ms)": statistics.median(latencies) * 1e3 if latencies else float("nan"),
        "p99 latency (ms)": latencies[int(len(latencies) * 0.99) - 1] * 1e3
        if latencies
        else float("nan"),
        **reach,
    }


def print_table(rows: list[dict[str, Any]]) -> None:
    keys = [k for k in {k: None for row in rows for k in row} if k != "variant"]
    names = {
        "paced": "ours, pacing on",
        "process": "ours, per process",
        "unpaced": "ours, pacing off",
        "shared": "ours, shared Redis",
        "official": "official SDK",
    }
    print(f"{'':<26}" + "".join(f"{names[r['variant']]:>20}" for r in rows))
    for key in keys:
        cells = []
        for row in rows:
            value = row.get(key, "")
            cells.append(f"{value:>20.2f}" if isinstance(value, float) else f"{value:>20}")
        print(f"{key:<26}" + "".join(cells))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--gets", type=int, default=20)
    parser.add_argument("--window", type=float, default=0.5, help="rate-limit window (s)")
    parser.add_argument("--rounds", type=int, default=3, help="windows of reading after start")
    parser.add_argument("--quick", action="store_true", help="20 clients, 5 gets: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    parser.add_argument(
        "--variants",
        default="paced,unpaced,shared,official",
        help="comma-separated subset to run",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("INFISICAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis for the shared variant (default: $INFISICAL_TEST_REDIS_URL)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.gets, args.processes = 20, 5, 2
    settings = Settings(
        args.clients,
        args.processes,
        args.gets,
        args.window,
        args.rounds,
        redis_url=args.redis_url,
        redis_prefix="fleet" + secrets.token_hex(4),
    )
    known = (*PACING, "official")
    variants = [v for v in args.variants.split(",") if v in known]
    if "official" in variants:
        try:
            import infisical_sdk  # noqa: F401
        except ImportError:
            print("(the official SDK is not installed: its column is left out)")
            variants.remove("official")
    rows = [measure(variant, settings) for variant in variants]
    print(
        f"fleet: {settings.clients} clients in {settings.processes} processes, 1 list + "
        f"{settings.gets} gets each, then {settings.rounds} rounds; Free plan, "
        f"{settings.window:g}s windows"
    )
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
