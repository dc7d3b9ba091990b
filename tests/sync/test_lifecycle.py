"""The blocking client's lifecycle, each case in its own interpreter with a timeout.

A client nobody closed must never keep the interpreter alive; exceptions, ``sys.exit`` and
Ctrl-C end the process promptly; a forked child closes and exits at once; ``close()`` with
``keep()`` blocks open returns quickly and revokes their leases.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import pytest

from infisical_async.testing import EmbeddedServer
from infisical_sync import InfisicalClient

from ..client.test_dynamic_secrets import pg_provider
from .conftest import make_sync_client

PROCESS_TIMEOUT = 30.0

WAIT_CHILD = """
def wait_child(pid):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    sys.exit("the forked child did not exit")
"""
"""Source for a script that forks: the child's exit code, or SIGKILL after 10 s (needs
``os``, ``signal``, ``sys`` and ``time`` imported)."""

PRELUDE = (
    """
import json, os, signal, sys, threading, time
from infisical_sync import InfisicalClient, UniversalAuth
info = json.loads(sys.argv[1])
def make_client():
    return InfisicalClient(
        site_url=info["site_url"],
        auth=UniversalAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
        project_id=info["project_id"],
        environment="dev",
    )
"""
    + WAIT_CHILD
)


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as srv:
        yield srv


def run_script(server: EmbeddedServer, body: str) -> tuple[int, float, str]:
    """Run PRELUDE + body in a fresh interpreter; (exit code, seconds taken, stderr)."""
    source = PRELUDE + textwrap.dedent(body)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", source, json.dumps(server.info.as_json())],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    return done.returncode, time.monotonic() - started, done.stderr


def test_a_forgotten_client_does_not_keep_the_interpreter_alive(
    server: EmbeddedServer,
) -> None:
    code, took, err = run_script(
        server,
        """
        client = make_client()
        client.secrets.list()
        print("done")
        """,
    )
    assert code == 0, err
    assert took < 10
    # It is closed on the way out (and says it was forgotten, under -X dev).
    assert "InfisicalClient" in err and "was not closed" in err
    assert server.control.request_count("POST /api/v1/auth/universal-auth/login") == 1


@pytest.mark.parametrize(
    ("ending", "expected_code"),
    [
        ("raise RuntimeError('boom')", 1),
        ("sys.exit(3)", 3),
        ("os.kill(os.getpid(), signal.SIGINT); time.sleep(5)", -2),
    ],
)
def test_exceptions_exit_and_interrupts_end_the_process_promptly(
    server: EmbeddedServer, ending: str, expected_code: int
) -> None:
    code, took, err = run_script(
        server,
        f"""
        client = make_client()
        client.secrets.list()
        {ending}
        """,
    )
    if expected_code == -2:  # Ctrl-C: Python exits as killed by SIGINT (or with 130)
        assert code in (-2, 130, 1), err
        assert "KeyboardInterrupt" in err
    else:
        assert code == expected_code, err
    assert took < 10


def test_ctrl_c_during_a_blocking_call_cancels_it_and_exits(server: EmbeddedServer) -> None:
    server.control.delay_next(1, seconds=20, path="^/api/v4/secrets$")
    code, took, err = run_script(
        server,
        """
        client = make_client()
        client.auth.universal_auth.login(info["client_id"], info["client_secret"])
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()
        client.secrets.list()  # held by the server for 20 s
        """,
    )
    assert code != 0 and "KeyboardInterrupt" in err
    assert took < 10


def test_a_forked_child_closes_and_exits_at_once(server: EmbeddedServer) -> None:
    code, took, err = run_script(
        server,
        """
        client = make_client()
        client.secrets.list()
        pid = os.fork()
        if pid == 0:  # the child: its copy of the client has no loop thread
            started = time.monotonic()
            client.close()
            assert client._runner.closed
            with_fresh = make_client()  # a new client works in the child
            with_fresh.secrets.list()
            with_fresh.close()
            sys.stderr.write(f"child closed in {time.monotonic() - started:.3f}s\\n")
            sys.exit(7)
        assert wait_child(pid) == 7
        client.secrets.list()  # the parent's client (and its pooled connection) still works
        client.close()
        """,
    )
    assert code == 0, err
    assert "child closed in" in err
    assert took < 15


def test_a_forked_child_exits_at_once_without_closing(server: EmbeddedServer) -> None:
    code, took, err = run_script(
        server,
        """
        client = make_client()
        client.secrets.list()
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # the interpreter's normal exit, finalizers included
        assert wait_child(pid) == 0
        client.close()
        """,
    )
    assert code == 0, err
    assert took < 15


@pytest.fixture
def pg_server(databases: dict[str, str]) -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as srv:
        with make_sync_client(srv) as client:
            client.dynamic_secrets.create(
                "pg", provider=pg_provider(databases["postgres"]), default_ttl="1h"
            )
        yield srv


@pytest.mark.parametrize("closer", ["same thread", "another thread", "nobody (exit)"])
def test_close_with_open_keep_blocks_returns_and_revokes(
    pg_server: EmbeddedServer, closer: str
) -> None:
    server = pg_server
    script = {
        "same thread": """
            with client.dynamic_secrets.leases.keep("pg", ttl="10m") as held:
                with client.dynamic_secrets.leases.keep("pg", ttl="10m"):
                    started = time.monotonic()
                    client.close()
                    sys.stderr.write(f"closed in {time.monotonic() - started:.3f}s\\n")
        """,
        "another thread": """
            def close_soon():
                time.sleep(0.3)
                started = time.monotonic()
                client.close()
                sys.stderr.write(f"closed in {time.monotonic() - started:.3f}s\\n")
            closer = threading.Thread(target=close_soon)
            with client.dynamic_secrets.leases.keep("pg", ttl="10m") as held:
                closer.start()
                closer.join()
        """,
        "nobody (exit)": """
            keeper = client.dynamic_secrets.leases.keep("pg", ttl="10m")
            held = keeper.__enter__()
            sys.stderr.write("leaving with the block open\\n")
        """,
    }[closer]
    code, took, err = run_script(server, "client = make_client()\n" + textwrap.dedent(script))
    assert code == 0, err
    assert took < 15
    if closer != "nobody (exit)":
        closed_in = float(err.split("closed in ")[1].split("s")[0])
        assert closed_in < 5
    assert server.control.active_leases == 0  # every lease revoked


def test_a_view_keeps_its_owner_alive(server: EmbeddedServer) -> None:
    view = make_sync_client(server).with_options(timeout=5)
    import gc

    gc.collect()
    assert len(view.secrets.list()) == 0  # the owner was not finalized under the view
    view._parent.close()  # type: ignore[attr-defined]
    assert isinstance(view._parent, InfisicalClient)  # type: ignore[attr-defined]


def test_a_forked_child_never_reuses_the_parents_epoll_descriptor(
    server: EmbeddedServer,
) -> None:
    code, _, err = run_script(
        server,
        """
        client = make_client()
        client.secrets.list()
        epoll_fd = client._runner._loop._selector.fileno()
        pid = os.fork()
        if pid == 0:
            read_end, write_end = os.pipe()  # takes the lowest free numbers
            os._exit(0 if epoll_fd not in (read_end, write_end) else 9)
        assert wait_child(pid) == 0, "the child reused the epoll number"
        client.secrets.list()
        client.close()
        """,
    )
    assert code == 0, err
