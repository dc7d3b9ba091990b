"""Logs reach the user: per-area loggers, no handler hiding WARNINGs, ``INFISICAL_LOG``."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = """
import logging, sys
if "configure" in sys.argv:
    logging.basicConfig(level=logging.DEBUG, format="APP %(name)s %(message)s")
from infisical_async import AsyncInfisicalClient, UniversalAuth
from infisical_async.testing import EmbeddedServer
import asyncio

async def main():
    async with EmbeddedServer() as server:
        info = server.info
        server.control.fail_next(1, status=503, path="^/api/status$")
        async with AsyncInfisicalClient(
            site_url=info.site_url, retry_delay=0,
            auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
        ) as client:
            await client.ping()
    logging.getLogger("infisical_async.keeper").warning("keeper warning reaches stderr")

asyncio.run(main())
"""


def run(*args: str, level: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "INFISICAL_LOG"}
    if level is not None:
        env["INFISICAL_LOG"] = level
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_warnings_are_not_swallowed_without_configuration() -> None:
    stderr = run()
    assert "keeper warning reaches stderr" in stderr
    assert "retrying" not in stderr  # DEBUG stays off by default


def test_infisical_log_debug_shows_the_areas() -> None:
    stderr = run(level="debug")
    assert "DEBUG infisical_async.transport: retrying GET /api/status after 503" in stderr
    assert "WARNING infisical_async.keeper: keeper warning reaches stderr" in stderr
    assert "retrying" not in run(level="warning")


def test_an_application_handler_gets_each_record_once() -> None:
    stderr = run("configure", level="debug")
    lines = [line for line in stderr.splitlines() if "retrying GET /api/status" in line]
    assert len(lines) == 1 and lines[0].startswith("APP infisical_async.transport ")


def test_a_wrong_level_is_named() -> None:
    stderr = run(level="loud")
    assert "INFISICAL_LOG='loud' is not a level; use one of debug, info, warning, error" in stderr
