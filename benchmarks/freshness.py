"""``python -m benchmarks.freshness``: how fresh a ``cache_mode="live"`` cache stays.

One client writes a secret again and again; another reads it from its live cache every
couple of milliseconds. For each write we take the time from the write's start to the
first read that serves the new value, and report p50/p99/max over all writes, with the
reads served and the gets (and 304s) the server answered. The embedded server runs in
its own process.

Variants (``--variant``, default all):

* ``events``: the server publishes change events ``--publish-delay`` after each write
  (upstream publishes from a queue job; goal: p99 <= 1 s plus that delay);
* ``polling``: the same server with events off (the unlicensed plan's 400): freshness
  comes from ``live_poll_interval`` and ``If-None-Match`` (goal: p99 <= the interval);
* ``ttl``: the plain TTL cache with ``cache_ttl`` = the poll interval, for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
from typing import Any

import aiohttp

from infisical_async import AsyncInfisicalClient, UniversalAuth


def start_server(events: str, publish_delay: float) -> tuple[subprocess.Popen[str], Any]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infisical_async.testing",
            "--events",
            events,
            "--events-publish-delay",
            str(publish_delay),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def client(info: Any, **options: Any) -> AsyncInfisicalClient:
    return AsyncInfisicalClient(
        site_url=info["site_url"],
        auth=UniversalAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
        project_id=info["project_id"],
        environment="dev",
        **options,
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure(
    info: Any, reader_options: dict[str, Any], writes: int, gap: float
) -> dict[str, Any]:
    async with client(info, **reader_options) as reader, client(info) as writer:
        await writer.secrets.create("FRESH", "v0")
        await reader.secrets.get("FRESH")
        await asyncio.sleep(1.0)  # the live cache's watch connects
        loop = asyncio.get_running_loop()
        lags: list[float] = []
        reads = 0
        for n in range(1, writes + 1):
            await asyncio.sleep(random.uniform(0, gap))
            started = loop.time()
            await writer.secrets.update("FRESH", value=f"v{n}")
            while (await reader.secrets.get("FRESH")).value != f"v{n}":
                reads += 1
                await asyncio.sleep(0.002)
            lags.append(loop.time() - started)
    async with aiohttp.ClientSession() as session:
        stats_url = info["site_url"] + "/__infisical_testing__/stats"
        async with session.get(stats_url) as response:
            requests = (await response.json())["requests"]
    return {
        "writes": writes,
        "p50_ms": round(statistics.median(lags) * 1000, 1),
        "p99_ms": round(percentile(lags, 99) * 1000, 1),
        "max_ms": round(max(lags) * 1000, 1),
        "reads_served": reads + writes,
        "server_gets": requests.get("GET /api/v4/secrets/{name}", 0),
        "server_304s": requests.get("304 Not Modified", 0),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.2, help="max random pause between writes")
    parser.add_argument("--publish-delay", type=float, default=0.1)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--variant", choices=("events", "polling", "ttl"), action="append")
    args = parser.parse_args()
    variants = args.variant or ["events", "polling", "ttl"]
    live = {"cache_ttl": 300.0, "cache_mode": "live", "live_poll_interval": args.poll_interval}
    setups = {
        "events": ("on", live),
        "polling": ("off", live),
        "ttl": ("on", {"cache_ttl": args.poll_interval}),
    }
    for variant in variants:
        events, options = setups[variant]
        proc, info = start_server(events, args.publish_delay)
        try:
            result = await measure(info, options, args.writes, args.gap)
        finally:
            proc.terminate()
            proc.wait(10)
        print(
            json.dumps(
                {
                    "variant": variant,
                    "publish_delay_s": args.publish_delay,
                    "poll_interval_s": args.poll_interval,
                    **result,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
