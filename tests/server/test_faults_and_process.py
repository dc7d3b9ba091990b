"""Fault injection, counters, concurrency and the command-line entry point."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import aiohttp
import pytest

from infisical_async.testing import CONTROL_PREFIX, EmbeddedServer

from .conftest import Raw


async def test_status_faults_with_retry_after_and_path_filter(raw: Raw) -> None:
    raw.server.control.fail_next(2, status=429, retry_after="3", path=r"^/api/v[34]/secrets")
    params = {raw.v[2]: raw.info.project_id, "environment": "dev"}
    status, _, _ = await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    assert status == 200  # path filter: not consumed
    for _ in range(2):
        status, body, headers = await raw.call("GET", raw.v[0], params=params)
        assert status == 429 and headers["Retry-After"] == "3"
        assert body["error"] == "RateLimitExceeded"
    status, _, _ = await raw.call("GET", raw.v[0], params=params)
    assert status == 200
    assert raw.server.control.faults_injected == {"status": 2}


async def test_drop_mid_body_and_delay(raw: Raw) -> None:
    raw.server.control.drop_next(1)
    with pytest.raises(aiohttp.ClientPayloadError):
        await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    raw.server.control.delay_next(1, seconds=0.3)
    started = time.monotonic()
    status, _, _ = await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    assert status == 200 and time.monotonic() - started >= 0.3


async def test_control_endpoint_and_counters(raw: Raw) -> None:
    status, _, _ = await raw.call(
        "POST",
        CONTROL_PREFIX + "/faults",
        token=False,
        json={"kind": "status", "status": 503, "count": 1},
    )
    assert status == 200
    status, _, _ = await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    assert status == 503
    status, body, _ = await raw.call("GET", CONTROL_PREFIX + "/stats", token=False)
    assert body["requests"]["POST /api/v1/auth/universal-auth/login"] == 1
    assert body["requests"]["GET /api/v1/workspace/{projectId}"] == 1
    assert body["faultsInjected"] == {"status": 1}
    status, body, _ = await raw.call("POST", CONTROL_PREFIX + "/tokens/expire", token=False)
    assert body["expired"] >= 1


async def test_restart_on_the_same_port_keeps_state(raw: Raw) -> None:
    port = raw.server.port
    await raw.server.restart()
    assert raw.server.port == port
    status, _, _ = await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    assert status == 200  # the token issued before the restart still works


async def test_64_concurrent_clients(current_server: EmbeddedServer) -> None:
    info = current_server.info

    async def one_client() -> int:
        async with aiohttp.ClientSession() as session:
            raw = Raw(current_server, session)
            await raw.login()
            statuses = [
                (
                    await raw.call(
                        "GET",
                        "/api/v4/secrets",
                        params={"projectId": info.project_id, "environment": "dev"},
                    )
                )[0]
                for _ in range(5)
            ]
            return sum(1 for s in statuses if s == 200)

    results = await asyncio.gather(*(one_client() for _ in range(64)))
    assert results == [5] * 64


def test_command_line_prints_one_json_line() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infisical_async.testing",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--client-id",
            "cid",
            "--client-secret",
            "csecret",
            "--access-token-ttl",
            "5",
            "--compat",
            "2024",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        info = json.loads(line)
        assert set(info) == {
            "site_url",
            "client_id",
            "client_secret",
            "project_id",
            "project_slug",
            "environments",
        }
        assert (info["client_id"], info["client_secret"]) == ("cid", "csecret")
        assert info["environments"] == ["dev", "staging", "prod"]

        async def login() -> dict[str, object]:
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    info["site_url"] + "/api/v1/auth/universal-auth/login",
                    json={"clientId": "cid", "clientSecret": "csecret"},
                ) as resp,
            ):
                return dict(await resp.json())

        assert asyncio.run(login())["expiresIn"] == 5
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
