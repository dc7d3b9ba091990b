"""ServerControl from other threads: every operation runs on the serving loop."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from infisical_async.testing import EmbeddedServer
from infisical_async.testing._state import SecretChange


def loop_thread_of(server: EmbeddedServer) -> int:
    assert server.loop is not None

    async def ident() -> int:
        return threading.get_ident()

    return asyncio.run_coroutine_threadsafe(ident(), server.loop).result(5)


def http(server: EmbeddedServer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        server.info.site_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_control_calls_from_other_threads_run_on_the_serving_loop() -> None:
    with EmbeddedServer().run_in_thread() as server:
        ctx = server._ctx
        seen: set[int] = set()

        def record(method: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                seen.add(threading.get_ident())
                return method(*args, **kwargs)

            return wrapper

        ctx.faults.add = record(ctx.faults.add)  # type: ignore[method-assign]
        ctx.faults.reset_counts = record(ctx.faults.reset_counts)  # type: ignore[method-assign]
        ctx.state.expire_all_tokens = record(ctx.state.expire_all_tokens)  # type: ignore[method-assign]
        server.state.add_secret_listener(lambda _: seen.add(threading.get_ident()))

        def drive() -> None:
            control = server.control
            control.fail_next(1, path="^/never$")
            control.reset_counts()
            control.expire_all_tokens()
            control.seed({"FROM_A_THREAD": "1"})

        drive()  # from the test's thread
        with ThreadPoolExecutor(4) as pool:  # and from workers
            for future in [pool.submit(drive) for _ in range(8)]:
                future.result()
        assert seen == {loop_thread_of(server)}


def test_many_threads_control_one_server_while_it_serves() -> None:
    with EmbeddedServer().run_in_thread() as server:
        control = server.control
        stop = threading.Event()
        served = 0

        def load() -> None:
            nonlocal served
            while not stop.is_set():
                status, _ = http(server, "GET", "/api/status")
                assert status == 200
                served += 1

        def drive(worker: int) -> int:
            for round_ in range(20):
                control.seed({f"K{worker}_{round_}": str(round_)}, path=f"/w{worker}")
                control.fail_next(1, path=f"^/nothing/{worker}$")
                assert control.requests.get("GET /api/status", 0) >= 0
            return worker

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        try:
            with ThreadPoolExecutor(8) as pool:
                assert sorted(pool.map(drive, range(8))) == list(range(8))
        finally:
            stop.set()
            loader.join(10)
        assert control.request_count("GET /api/status") == served
        assert len(server._ctx.faults.faults) == 8 * 20  # every fault queued, none lost
        for worker in range(8):
            bucket = server.state.secrets[("dev", f"/w{worker}")]
            assert {k for k, _, _ in bucket} == {f"K{worker}_{r}" for r in range(20)}


def test_blocking_stop_start_and_restart_from_sync_code() -> None:
    with EmbeddedServer().run_in_thread() as server:
        control = server.control
        port = server.port
        control.stop()
        assert not control.listening
        with pytest.raises(urllib.error.URLError):
            http(server, "GET", "/api/status")
        control.start()
        assert control.listening and server.port == port
        assert http(server, "GET", "/api/status")[0] == 200
        control.restart()
        assert server.port == port and http(server, "GET", "/api/status")[0] == 200
        assert control.request_count("GET /api/status") == 2


def test_blocking_sweep_leases_from_sync_code(databases: dict[str, str]) -> None:
    url = urlsplit(databases["redis"])
    inputs = {
        "host": url.hostname,
        "port": url.port,
        "username": url.username,
        "password": url.password,
        "creationStatement": "ACL SETUSER {{username}} on >{{password}} ~* &* +@all",
        "revocationStatement": "ACL DELUSER {{username}}",
    }
    # The sweeper never wakes on its own here: only the blocking call revokes.
    with EmbeddedServer(allow_short_ttl=True, sweep_interval=3600).run_in_thread() as server:
        status, body = http(
            server,
            "POST",
            "/api/v1/auth/universal-auth/login",
            {"clientId": server.info.client_id, "clientSecret": server.info.client_secret},
        )
        assert status == 200
        token = body["accessToken"]
        where = {"projectSlug": server.info.project_slug, "environmentSlug": "dev", "path": "/"}

        def call(path: str, payload: Any) -> Any:
            request = urllib.request.Request(
                server.info.site_url + path,
                data=json.dumps(payload).encode(),
                method="POST",
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        call(
            "/api/v1/dynamic-secrets",
            {
                **where,
                "name": "short",
                "defaultTTL": "1s",
                "provider": {"type": "redis", "inputs": inputs},
            },
        )
        lease = call("/api/v1/dynamic-secrets/leases", {**where, "dynamicSecretName": "short"})
        user = lease["data"]["DB_USERNAME"]
        admin = redis.Redis(
            host=url.hostname or "",
            port=url.port or 6379,
            username=url.username,
            password=url.password,
        )
        try:
            assert user in admin.acl_users()
            control = server.control
            assert control.sweep_leases() == 0 and control.active_leases == 1  # not yet due
            server.config.clock_offset = 30.0  # the server's clock moves past the expiry
            assert control.sweep_leases() == 1
            assert control.active_leases == 0
            assert user not in admin.acl_users()
        finally:
            admin.close()


async def test_blocking_calls_on_the_serving_loop_name_their_async_twin() -> None:
    async with EmbeddedServer() as server:
        control = server.control
        control.fail_next(1)  # plain state changes run at once on the loop
        assert control.listening
        for call, twin in (
            (control.restart, "restart"),
            (control.stop, "stop_listening"),
            (control.start, "resume_listening"),
            (control.sweep_leases, "sweep_leases"),
        ):
            with pytest.raises(RuntimeError, match=rf"await server\.{twin}\(\)"):
                call()
        await server.stop_listening()
        assert not control.listening
        await server.resume_listening()
        await server.restart()
        assert await server.sweep_leases() == 0


def test_a_stopped_server_refuses_blocking_io_but_keeps_its_state() -> None:
    server = EmbeddedServer()
    with server.run_in_thread():
        server.control.seed({"KEPT": "1"})
    with pytest.raises(RuntimeError, match="not running"):
        server.control.restart()
    changes: list[SecretChange] = []
    server.state.add_secret_listener(changes.append)
    server.control.seed({"LATER": "2"})  # no loop serves: applied directly
    assert [c.key for c in changes] == ["LATER"]
    assert server.loop is None


SERVE_AND_LEAVE = """
import sys, threading
from infisical_async.testing import EmbeddedServer

server = EmbeddedServer()
with server.run_in_thread():
    server.control.restart()
    assert server.control.sweep_leases() == 0
left = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
print(left)
if sys.argv[1] == "abandon":
    # A server whose block is never left: its daemon thread must not keep the process up.
    EmbeddedServer().run_in_thread().__enter__()
"""


@pytest.mark.parametrize("how", ["leave", "abandon"])
def test_the_server_thread_never_keeps_a_process_alive(how: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LEAVE, how],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # the block's thread was joined


def test_control_from_a_thread_never_races_the_loop_over_the_same_state() -> None:
    # Issuing tokens from a thread while the loop walks every token (the expire endpoint):
    # were issuing done on the caller's thread, the walk would meet a dict changing size.
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        server = EmbeddedServer()
        for _ in range(20_000):  # a long walk for the loop (filled before it serves)
            server.state.issue_token(server.state.identity, ttl=0, max_ttl=0)
        with server.run_in_thread():
            stop = threading.Event()

            def issue() -> int:
                issued = 0
                while not stop.is_set():
                    server.control.create_access_token()
                    issued += 1
                return issued

            with ThreadPoolExecutor(2) as pool:
                issuers = [pool.submit(issue) for _ in range(2)]
                try:
                    statuses = [
                        http(server, "POST", "/__infisical_testing__/tokens/expire", {})[0]
                        for _ in range(100)
                    ]
                finally:
                    stop.set()
                issued = sum(f.result() for f in issuers)
            assert statuses == [200] * 100
            assert len(server.state.tokens) == 20_000 + issued
    finally:
        sys.setswitchinterval(previous)
