"""Pacing shared by every process of a host: one record per site, in a file under a lock."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from infisical_async import AsyncInfisicalClient, InvalidArgumentError
from infisical_async._pacing import PROBE_POLL, HostPacer, host_pacer_path, shared_pacer
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client

LIMITED = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "20"}


def test_two_pacers_on_one_file_share_the_budget(tmp_path: Path) -> None:
    now = [100.0]
    first = HostPacer(tmp_path / "p", clock=lambda: now[0], rng=lambda: 0.5)
    second = HostPacer(tmp_path / "p", clock=lambda: now[0], rng=lambda: 0.5)
    try:
        assert second.reserve("GET /x") == 0.0  # nothing known on the host yet
        first.observe("GET /x", 200, {"x-ratelimit-remaining": "1", "x-ratelimit-reset": "10"})
        now[0] += 1.5  # a pacer that found no file looks again a second later
        assert second.reserve("GET /x") == 0.0  # the one request left
        assert first.reserve("GET /x") == pytest.approx(8.5 + 0.5 * 0.1 * 10)  # spent
        now[0] = 111.0
        assert first.reserve("GET /x") == 0.0  # a new window: one blind request
    finally:
        first.close()
        second.close()


def test_a_damaged_or_stale_file_is_only_advice(tmp_path: Path) -> None:
    path = tmp_path / "p"
    path.write_text("{not json")
    pacer = HostPacer(path, clock=lambda: 5.0, rng=lambda: 0.5)
    try:
        assert pacer.reserve("GET /x") == 0.0  # unreadable: unknown, so this one asks
        assert pacer.reserve("GET /x") == PROBE_POLL  # and the next waits for its answer
        # A record from another boot: its window "resets" far beyond one window from now.
        path.write_text(json.dumps({"GET /x": [0, 1e9, 10.0, 1.0]}))
        assert pacer.reserve("GET /x") == 0.0  # taken as a new window, not a 1e9 s wait
        path.write_text(json.dumps({"GET /y": ["x", 1, 2]}))
        assert pacer.reserve("GET /y") == 0.0  # a damaged record: unknown, this one asks
    finally:
        pacer.close()


def test_the_file_is_private_to_the_user(tmp_path: Path) -> None:
    pacer = HostPacer(tmp_path / "dir" / "p")
    try:
        pacer.observe("GET /x", 200, LIMITED)
        assert (tmp_path / "dir").stat().st_mode & 0o777 == 0o700
        assert (tmp_path / "dir" / "p").stat().st_mode & 0o777 == 0o600
    finally:
        pacer.close()


def test_scopes() -> None:
    site = "https://scopes.example"
    assert shared_pacer(site, "off") is None
    assert isinstance(shared_pacer(site, "host"), HostPacer)
    assert shared_pacer(site, "host") is shared_pacer(site, "host")
    assert not isinstance(shared_pacer(site, "process"), HostPacer)
    assert host_pacer_path(site) != host_pacer_path(site + "/other")
    with pytest.raises(InvalidArgumentError, match="pace_rate_limits"):
        AsyncInfisicalClient(site_url=site, pace_rate_limits=True)  # type: ignore[arg-type]


_OTHER_PROCESS = textwrap.dedent(
    """
    import asyncio, sys
    from infisical_async import AsyncInfisicalClient, RateLimitError, UniversalAuth

    async def main() -> int:
        site, client_id, secret, project, scope = sys.argv[1:]
        async with AsyncInfisicalClient(
            site_url=site, auth=UniversalAuth(client_id=client_id, client_secret=secret),
            project_id=project, environment="dev", pace_rate_limits=scope, timeout=2,
        ) as client:
            try:
                await client.secrets.list()
            except RateLimitError:
                return 3
            return 0

    sys.exit(asyncio.run(main()))
    """
)


@pytest.mark.parametrize("scope", ["host", "process"])
async def test_another_process_knows_the_window_is_spent(scope: str) -> None:
    async with EmbeddedServer(rate_limits="instance", rate_window=30) as server:
        async with make_client(server, pace_rate_limits=scope) as client:
            for _ in range(60):  # the window's whole budget, from this process
                await client.secrets.list()
        info = server.info
        other = await asyncio.to_thread(  # the server answers on this loop meanwhile
            subprocess.run,
            [
                sys.executable,
                "-c",
                _OTHER_PROCESS,
                info.site_url,
                info.client_id,
                info.client_secret,
                info.project_id,
                scope,
            ],
            timeout=60,
            capture_output=True,
            text=True,
        )
        assert other.returncode == 3, other.stderr  # RateLimitError either way, but:
        if scope == "host":
            assert server.control.rate_limited == 0  # it knew, and did not send
        else:
            assert server.control.rate_limited == 1  # it had to ask, into a 429


def test_an_unusable_directory_falls_back_to_pacing_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)  # open to others: not trusted
    shared.chmod(0o755)
    pacer = HostPacer(shared / "p", clock=lambda: 1.0, rng=lambda: 0.5)
    pacer.observe("GET /x", 200, {"x-ratelimit-remaining": "1", "x-ratelimit-reset": "10"})
    assert not (shared / "p").exists()
    assert "paces on its own" in caplog.text
    assert pacer.reserve("GET /x") == 0.0  # the one request left, counted in memory
    assert pacer.reserve("GET /x") > 9  # spent
