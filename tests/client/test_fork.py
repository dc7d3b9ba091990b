"""An async client inherited by a forked child, each case in its own interpreter.

The child shares the parent's epoll instance: closing the inherited session there would
unregister the parent's pooled sockets and stall the parent's next request.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest

from infisical_async.testing import EmbeddedServer

from ..sync.test_lifecycle import WAIT_CHILD

PROCESS_TIMEOUT = 30.0

SCRIPT = """
import asyncio, gc, json, os, signal, sys, time, traceback
from infisical_async import AsyncInfisicalClient, ClientForkedError, UniversalAuth
info = json.loads(sys.argv[1])

async def in_child(client):
    await client.aclose()
    assert client.closed
    try:
        await client.secrets.list()
    except ClientForkedError:
        return
    raise AssertionError("the child used the parent's client")

<<wait_child>>

async def main():
    client = AsyncInfisicalClient(
        site_url=info["site_url"],
        auth=UniversalAuth(client_id=info["client_id"], client_secret=info["client_secret"]),
        project_id=info["project_id"],
        environment="dev",
        timeout=5,
        max_retries=0,
    )
    await client.secrets.list()  # a pooled keep-alive connection now exists
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            <<child>>
        except BaseException:
            traceback.print_exc()
            code = 3
        os._exit(code)
    assert wait_child(pid) == 0, "the child failed (see stderr)"
    await client.secrets.list()  # the parent's connections still work
    await client.aclose()

asyncio.run(main())
"""


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as srv:
        yield srv


@pytest.mark.parametrize(
    "child",
    [
        "asyncio.run(in_child(client))",  # e.g. a worker's shutdown hook
        # Dropped unclosed: its finalizers run in the child, where it counts as closed.
        "assert client.closed; client = None; gc.collect()",
    ],
    ids=["aclose", "collected"],
)
def test_a_forked_child_leaves_the_parents_connections_alone(
    server: EmbeddedServer, child: str
) -> None:
    source = (
        textwrap.dedent(SCRIPT)
        .replace("<<wait_child>>", textwrap.dedent(WAIT_CHILD))
        .replace("<<child>>", child)
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", source, json.dumps(server.info.as_json())],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr
    # Nothing tells the child to close what it cannot close.
    assert "aclose" not in done.stderr and "Unclosed" not in done.stderr, done.stderr
