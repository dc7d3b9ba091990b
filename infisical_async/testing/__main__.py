"""``python -m infisical_async.testing``: run the embedded server until interrupted.

Once it accepts connections it prints one JSON line on stdout with the site URL, the seeded
machine identity's credentials, the project and its environments.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys

from ._server import EmbeddedServer


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infisical_async.testing",
        description="Run the embedded Infisical-compatible server until interrupted. Once it "
        "accepts connections it prints one JSON line: site URL, credentials, project, "
        "environments.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", help="fixed universal-auth client id")
    parser.add_argument("--client-secret", help="fixed universal-auth client secret")
    parser.add_argument("--access-token-ttl", type=int, default=3600, metavar="SECONDS")
    parser.add_argument("--access-token-max-ttl", type=int, default=86400, metavar="SECONDS")
    parser.add_argument(
        "--compat",
        choices=("current", "2025", "2024"),
        default="current",
        help="behave like current upstream, a June-2025 or an October-2024 server",
    )
    parser.add_argument(
        "--allow-short-ttl",
        action="store_true",
        help="accept dynamic-secret TTLs under one minute (down to 1s)",
    )
    parser.add_argument(
        "--rate-limits",
        choices=("off", "instance", "free", "pro"),
        default="off",
        help="emulate Infisical Cloud's per-IP, per-route rate limits of this plan",
    )
    parser.add_argument(
        "--rate-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="length of a rate-limit window (shrink it to test quickly)",
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="run the server's clock this far ahead of the machine's (negative: behind)",
    )
    parser.add_argument(
        "--events",
        choices=("on", "off"),
        default="on",
        help="change-event subscriptions; off answers the unlicensed plan's 400",
    )
    parser.add_argument("--events-publish-delay", type=float, default=0.05, metavar="SECONDS")
    parser.add_argument("--events-ping-interval", type=float, default=15.0, metavar="SECONDS")
    parser.add_argument("--events-max-duration", type=float, default=3600.0, metavar="SECONDS")
    parser.add_argument("--events-max-connections", type=int, default=100, metavar="N")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    server = EmbeddedServer(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        access_token_ttl=args.access_token_ttl,
        access_token_max_ttl=args.access_token_max_ttl,
        compat=args.compat,
        allow_short_ttl=args.allow_short_ttl,
        clock_offset=args.clock_offset,
        rate_limits=args.rate_limits,
        rate_window=args.rate_window,
        events=args.events,
        events_publish_delay=args.events_publish_delay,
        events_ping_interval=args.events_ping_interval,
        events_max_duration=args.events_max_duration,
        events_max_connections=args.events_max_connections,
    )
    async with server:
        print(json.dumps(server.info.as_json()), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
