"""Where the client's time goes: cProfile of the paths the benchmark measures.

    python -m benchmarks.profile                   # every path, top frames by own time
    python -m benchmarks.profile --path list --top 30
    python -m benchmarks.profile --dump DIR        # also write .pstats files (snakeviz etc.)

Paths: ``get`` (async uncached get, sequential), ``get64`` (64 concurrent), ``sync64``
(the sync twin from 64 threads: cProfile sees only the loop thread, where the async work
runs; the callers' side is in the thread-hop rows of ``python -m benchmarks``) and ``list``
(1,000 secrets into models). For a sampling view of every thread, run py-spy (``pip install
py-spy``) on the same paths: ``py-spy record -o out.svg -- python -m benchmarks.profile
--path sync64 --no-cprofile``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .run import async_client, seed, start_server, sync_client

PATHS = ("get", "get64", "sync64", "list")


def profiled(enabled: bool) -> tuple[cProfile.Profile | None, Callable[[], None]]:
    if not enabled:
        return None, lambda: None
    profile = cProfile.Profile()
    return profile, profile.disable


def run_async(server: Any, calls: int, concurrency: int, list_: bool, enabled: bool) -> Any:
    async def main() -> cProfile.Profile | None:
        client = async_client(server, coalesce_reads=False)

        async def call() -> Any:
            if list_:
                return await client.secrets.list(secret_path="/big")
            return await client.secrets.get("DATABASE_URL")

        await call()
        profile, _ = profiled(enabled)
        if profile is not None:
            profile.enable()

        async def worker() -> None:
            for _ in range(calls // concurrency):
                await call()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        if profile is not None:
            profile.disable()
        await client.aclose()
        return profile

    return asyncio.run(main())


def run_sync64(server: Any, calls: int, enabled: bool) -> Any:
    with sync_client(server, coalesce_reads=False) as client:
        client.secrets.get("DATABASE_URL")
        profile, _ = profiled(enabled)
        runner = client._runner
        if profile is not None:
            # The async work runs on the loop thread: profile that thread, not the callers.
            runner.call_sync(profile.enable)
        with ThreadPoolExecutor(64) as pool:
            list(
                pool.map(
                    lambda _: [client.secrets.get("DATABASE_URL") for _ in range(calls // 64)],
                    range(64),
                )
            )
        if profile is not None:
            runner.call_sync(profile.disable)
        assert threading.current_thread() is threading.main_thread()
        return profile


def report(name: str, profile: cProfile.Profile, top: int, dump: Path | None) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    print(f"===== {name}: top {top} frames by own time =====")
    print(out.getvalue().split("\n", 6)[-1] if "Ordered by" in out.getvalue() else out.getvalue())
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(dump / f"{name}.pstats")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--path", choices=PATHS, action="append", help="default: all")
    parser.add_argument("--calls", type=int, default=4096)
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--dump", type=Path)
    parser.add_argument(
        "--no-cprofile", action="store_true", help="just run the paths (for py-spy)"
    )
    args = parser.parse_args()
    enabled = not args.no_cprofile
    server = start_server()
    try:
        asyncio.run(seed(server))
        for name in args.path or PATHS:
            if name == "get":
                profile = run_async(server, args.calls, 1, False, enabled)
            elif name == "get64":
                profile = run_async(server, args.calls, 64, False, enabled)
            elif name == "sync64":
                profile = run_sync64(server, args.calls, enabled)
            else:
                profile = run_async(server, max(args.calls // 64, 16), 1, True, enabled)
            if profile is not None:
                report(name, profile, args.top, args.dump)
    finally:
        server.process.terminate()
        server.process.wait(10)


if __name__ == "__main__":
    main()
