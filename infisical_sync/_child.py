"""Run a command as our child: forward signals, pass its exit status through, restart it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import FrameType

__all__ = ["FORWARDED_SIGNALS", "Child", "exit_status"]

FORWARDED_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
    if hasattr(signal, name)
)


def exit_status(returncode: int) -> int:
    """A child killed by signal N gives 128 + N, as a shell reports it."""
    return 128 - returncode if returncode < 0 else returncode


class Child:
    """One run of the command; signals we receive are passed on to it while it runs."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self.process = subprocess.Popen(list(argv), env=dict(env))

    def send(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def stop(self, grace: float) -> int:
        """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit status."""
        self.send(signal.SIGTERM)
        try:
            return self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


@contextlib.contextmanager
def forwarding(target: Callable[[], Child | None]) -> Iterator[list[int]]:
    """Forward the usual signals to ``target()``; yields the list of signals received.

    A terminal delivers Ctrl-C (SIGINT) to the whole foreground process group, our child
    included, so it is forwarded only when stdin is not a terminal (``kill -INT``).
    """
    received: list[int] = []
    terminal = sys.stdin is not None and sys.stdin.isatty()

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if signum == signal.SIGINT and terminal:
            return
        child = target()
        if child is not None:
            child.send(signum)

    previous = {}
    for signum in FORWARDED_SIGNALS:
        with contextlib.suppress(OSError, ValueError):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield received
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def is_executable(command: str, env: Mapping[str, str]) -> bool:
    if os.sep in command:
        return os.access(command, os.X_OK)
    return shutil.which(command, path=env.get("PATH")) is not None
