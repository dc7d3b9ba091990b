"""The runner's hand-over of blocking calls to its loop, under many threads at once."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from infisical_sync import ClientClosedError
from infisical_sync._runner import PortalRunner

caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


class Boom(Exception):
    pass


def test_64_threads_each_get_their_own_result_and_error() -> None:
    runner = PortalRunner()

    async def echo(value: int) -> tuple[int, str]:
        await asyncio.sleep(0)
        if value % 7 == 0:
            raise Boom(value)
        return value, caller.get()

    def worker(thread: int) -> list[object]:
        caller.set(f"thread-{thread}")
        outcomes: list[object] = []
        for i in range(50):
            value = thread * 1000 + i
            try:
                outcomes.append(runner.call(echo, value))
            except Boom as exc:
                outcomes.append(("boom", exc.args[0]))
        return outcomes

    try:
        with ThreadPoolExecutor(64) as pool:
            results = list(pool.map(worker, range(64)))
    finally:
        runner.close(None)
    for thread, outcomes in enumerate(results):
        for i, outcome in enumerate(outcomes):
            value = thread * 1000 + i
            # Each call sees its own caller's context variables, never another thread's.
            expected = ("boom", value) if value % 7 == 0 else (value, f"thread-{thread}")
            assert outcome == expected
    assert not runner._pending and not runner._inflight


def test_close_wakes_every_queued_and_running_call() -> None:
    runner = PortalRunner()
    started = threading.Barrier(17)

    async def slow() -> None:
        await asyncio.sleep(30)

    def worker() -> str:
        started.wait()
        try:
            runner.call(slow)
        except ClientClosedError:
            return "closed"
        return "finished"

    with ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(worker) for _ in range(16)]
        started.wait()
        time.sleep(0.2)
        began = time.monotonic()
        runner.close(None)
        assert [f.result(timeout=5) for f in futures] == ["closed"] * 16
    assert time.monotonic() - began < 3
    with pytest.raises(ClientClosedError):
        runner.call(slow)


def test_a_non_coroutine_is_refused_in_the_caller() -> None:
    runner = PortalRunner()
    try:
        with pytest.raises(TypeError):
            runner.call(lambda: 5)  # type: ignore[arg-type, return-value]
        assert runner.call(asyncio.sleep, 0, "still works") == "still works"
    finally:
        runner.close(None)
