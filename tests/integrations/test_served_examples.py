"""Each web example runs with the command its docstring documents, and answers over HTTP."""

from __future__ import annotations

import ast
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infisical_async.testing import EmbeddedServer

from ..client.test_dynamic_secrets import pg_provider
from ..sync.conftest import make_sync_client
from ..test_examples import address_only, env_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def thread_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as server:
        yield server


def documented_command(example: str) -> list[str]:
    """The command of the example's docstring, without its ``VAR=...`` assignments."""
    doc = ast.get_docstring(ast.parse((ROOT / "examples" / example).read_text()))
    assert doc is not None
    block = doc.split("::\n", 1)[1].strip().split("\n\n", 1)[0]
    words = shlex.split(block.replace("\\\n", " "))
    command = [w for w in words if "=" not in w or w.startswith("-")]
    assert command, doc
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Served:
    def __init__(self, argv: list[str], env: dict[str, str], port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"exited early: {self.process.communicate()[0]}")
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=10).close()
                return
            except urllib.error.HTTPError:
                return  # listening; what it answers is for the test to check
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("the app did not start listening in 30 s") from None
                time.sleep(0.1)

    def stop(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
            raise AssertionError(f"did not stop on SIGTERM: {output}") from None
        return self.process.returncode, output


def test_fastapi_example_runs_under_uvicorn(
    thread_server: EmbeddedServer, databases: dict[str, str]
) -> None:
    dsn = databases["postgres"]
    with make_sync_client(thread_server) as admin:
        admin.secrets.create("GREETING", "hello from uvicorn")
        admin.secrets.create("DATABASE_URL", address_only(dsn))
        admin.dynamic_secrets.create("app-db", provider=pg_provider(dsn), default_ttl="1h")
    command = documented_command("fastapi_app.py")
    assert command == ["uvicorn", "examples.fastapi_app:app"]
    port = free_port()
    env = env_for(thread_server) | {"INFISICAL_ENVIRONMENT": "dev"}
    served = Served([str(BIN / "uvicorn"), *command[1:], "--port", str(port)], env, port)
    try:
        assert get(served.base + "/greeting") == (200, {"greeting": "hello from uvicorn"})
        status, body = get(served.base + "/database-user")
        assert status == 200 and body["user"]
        status, health = get(served.base + "/healthz")
        assert status == 200, health
        assert health["status"] == "ok" and health["leases"]["db"]["status"] == "ok"
        assert thread_server.control.active_leases == 1
        thread_server.control.fail_next(1, status=503, path="^/api/status$")
        status, health = get(served.base + "/healthz")
        assert status == 503 and health["infisical"]["status"] == "fail"
    finally:
        code, output = served.stop()
    # uvicorn shuts down gracefully, then re-raises the signal it got (recent versions)
    assert code in (0, -signal.SIGTERM), output
    assert thread_server.control.active_leases == 0  # revoked at shutdown
    assert "Application shutdown complete" in output
    assert thread_server.info.client_secret not in output


def test_aiohttp_example_runs_with_aiohttp_web(thread_server: EmbeddedServer) -> None:
    with make_sync_client(thread_server) as admin:
        admin.secrets.create("FEATURE_SEARCH", "on")
    command = documented_command("aiohttp_app.py")
    assert command[:3] == ["python", "-m", "aiohttp.web"]
    port = free_port()
    argv = [sys.executable, *command[1:]]
    argv[argv.index("-P") + 1] = str(port)
    served = Served(argv, env_for(thread_server) | {"INFISICAL_ENVIRONMENT": "dev"}, port)
    try:
        assert get(served.base + "/features/search") == (
            200,
            {"feature": "search", "enabled": True},
        )
        assert get(served.base + "/features/beta")[1] == {"feature": "beta", "enabled": False}
        status, health = get(served.base + "/healthz")
        assert (status, health["status"]) == (200, "ok")
        thread_server.control.drop_next(1, path="^/api/status$")
        status, health = get(served.base + "/healthz")
        assert status == 503 and health["infisical"]["status"] == "fail"
    finally:
        code, output = served.stop()
    assert code == 0, output


def test_examples_fail_clearly_without_credentials(thread_server: EmbeddedServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFISICAL_")}
    result = subprocess.run(
        [str(BIN / "uvicorn"), "examples.fastapi_app:app", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID" in result.stderr
