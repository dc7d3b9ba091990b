"""Requests per second of the embedded server for a single-secret GET.

The embedded server runs in its own process (``python -m infisical_async.testing``); a bare
aiohttp.web server answering the same JSON body from memory, also in its own process, is the
baseline measured in the same run. Load comes from one client process with N concurrent
keep-alive connections.

    python -m benchmarks.server_throughput [--seconds 5] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

import aiohttp

BASELINE_SERVER = r"""
import json, sys
from aiohttp import web
body = sys.stdin.read().encode()
async def handler(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/{tail:.*}", handler)
async def main():
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(json.dumps({"port": site._server.sockets[0].getsockname()[1]}), flush=True)
    import asyncio; await asyncio.Event().wait()
import asyncio; asyncio.run(main())
"""


async def hammer(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        count = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                async with session.get(url) as resp:
                    await resp.read()
                    if resp.status != 200:
                        raise RuntimeError(f"status {resp.status}")
                count += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - started)


async def prepare_embedded(info: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    site = info["site_url"]
    async with aiohttp.ClientSession() as s:
        async with s.post(
            site + "/api/v1/auth/universal-auth/login",
            json={"clientId": info["client_id"], "clientSecret": info["client_secret"]},
        ) as r:
            token = (await r.json())["accessToken"]
        headers = {"Authorization": f"Bearer {token}"}
        async with s.post(
            site + "/api/v4/secrets/DATABASE_URL",
            headers=headers,
            json={
                "projectId": info["project_id"],
                "environment": "dev",
                "secretValue": "postgres://user:pw@db.internal:5432/app",
            },
        ) as r:
            assert r.status == 200, await r.text()
        url = (
            f"{site}/api/v4/secrets/DATABASE_URL?projectId={info['project_id']}"
            "&environment=dev&secretPath=/&type=shared&include_imports=false"
            "&expandSecretReferences=false&viewSecretValue=true"
        )
        async with s.get(url, headers=headers) as r:
            body = await r.read()
    return url, headers, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    embedded = subprocess.Popen(
        [sys.executable, "-m", "infisical_async.testing"], stdout=subprocess.PIPE, text=True
    )
    baseline = None
    try:
        assert embedded.stdout is not None
        info = json.loads(embedded.stdout.readline())
        url, headers, body = asyncio.run(prepare_embedded(info))
        baseline = subprocess.Popen(
            [sys.executable, "-c", BASELINE_SERVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert baseline.stdin is not None and baseline.stdout is not None
        baseline.stdin.write(body.decode())
        baseline.stdin.close()
        port = json.loads(baseline.stdout.readline())["port"]
        base_url = f"http://127.0.0.1:{port}/api/v4/secrets/DATABASE_URL"
        rows = []
        for name, target, hdrs in (
            ("bare aiohttp.web, static body (baseline)", base_url, {}),
            ("embedded server, GET one secret", url, headers),
        ):
            rate = asyncio.run(hammer(target, hdrs, args.seconds, args.concurrency))
            rows.append((name, rate))
        base_rate = rows[0][1]
        print(f"{'server':<42} {'req/s':>10} {'vs baseline':>12}")
        for name, rate in rows:
            print(f"{name:<42} {rate:>10.0f} {rate / base_rate:>11.2f}x")
        print(
            f"({args.concurrency} concurrent connections, {args.seconds:g}s each, "
            "one client process; server and load share this machine's cores)"
        )
    finally:
        embedded.terminate()
        embedded.wait(10)
        if baseline is not None:
            baseline.terminate()
            baseline.wait(10)


if __name__ == "__main__":
    main()
