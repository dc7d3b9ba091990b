"""Pacing by the server's own rate-limit headers: wait for a spent window, not into a 429.

Infisical Cloud counts requests per client IP per route in fixed windows and reports, on
every limited answer, ``x-ratelimit-remaining`` and ``x-ratelimit-reset`` (whole seconds
until the window ends). Those figures count the whole fleet behind the address, which no
client can see: so each client takes only its *share* of what remains, and sends blind into
a new window (before any answer has told it the budget) only with that probability. A 429
says the fleet asked for more than a window holds: the share halves. Every other answer
grows it by half. Once its share of a window is spent, a client waits for the next
window, plus a random tenth of a window so that a fleet does not stampede at the edge.
Self-hosted servers send no such headers: nothing is ever paced.

The server counts by address, not by client. By default every process of the host (for
one user) shares one record per site (``HostPacer``: a small file under a lock), so the
twenty workers of a gunicorn app are one participant of the fleet, not twenty strangers
guessing at each other's requests; ``"process"`` shares it among the clients of one
process only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("infisical_async.transport")

__all__ = ["HostPacer", "Pacer", "PacingScope", "host_pacer_path", "shared_pacer"]

JITTER_FRACTION = 0.1
"""Spread the requests that waited for a window over this fraction of the next one."""
MAX_TRACKED = 1024
"""Buckets remembered at most (routes with ids in them could otherwise grow without end)."""
MIN_SHARE = 0.2
"""The least share a client keeps: it still tries one window in five. Lower floors cut
429s little more and slowed a 200-client fleet's start several times (benchmarks.fleet)."""
SHARE_GROWTH = 1.5
"""Each answer that is not a 429 grows the share by half (a 429 halves it)."""
PROBE_PATIENCE = 1.0
"""Seconds other requests on a bucket wait for the first one's answer (its probe) before
sending anyway: the probe may have failed without an answer."""
PROBE_POLL = 0.02
"""How often a request waiting for a probe looks again."""


class _Bucket:
    __slots__ = ("allowance", "resets_at", "share", "window")

    def __init__(self, resets_at: float, window: float) -> None:
        self.allowance: int | None = None
        """Requests this client may still send in the window; None until an answer says."""
        self.resets_at = resets_at
        self.window = window
        self.share = 1.0
        """The part of a window's budget this client takes, and the chance that it sends
        blind into a new window. Halved by every 429 (the fleet asked for more than the
        window holds), grown by half by every answer that was not one."""

    def to_json(self) -> list[float | int | None]:
        return [self.allowance, self.resets_at, self.window, self.share]

    @classmethod
    def from_json(cls, value: object) -> _Bucket | None:
        if not (isinstance(value, list) and len(value) == 4):
            return None
        allowance, resets_at, window, share = value
        if not all(isinstance(v, (int, float)) for v in (resets_at, window, share)) or not (
            allowance is None or isinstance(allowance, int)
        ):
            return None
        bucket = cls(float(resets_at), max(float(window), 1.0))
        bucket.allowance = allowance
        bucket.share = min(max(float(share), MIN_SHARE), 1.0)
        return bucket


class Pacer:
    """Per route bucket: the server's budget, this process's share of it, the window."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._clock = clock
        self._rng = rng
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        """Blocking clients of one process run on several event-loop threads."""
        self._probes: dict[str, float] = {}
        """Buckets whose budget is unknown, and when the request that asks was sent."""
        self._unlimited: set[str] = set()
        """Buckets whose answers carry no limits: never paced."""
        self._limited = False
        """Whether this site has reported limits at all (Infisical Cloud does on every
        route, the login included; a self-hosted server never does). Until it has, no
        request waits for a probe: a slow first answer must not hold the others."""

    def reserve(self, bucket: str) -> float:
        """Seconds to wait before sending on ``bucket`` (0: send now, and it is counted)."""
        with self._lock:
            return self._reserve(self._buckets, bucket)

    def observe(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        """Take the budget an answer reports (nothing when it reports none)."""
        limits = _limits(headers)
        with self._lock:
            if self._unknown(bucket, limits):
                return
            assert limits is not None
            self._observe(self._buckets, bucket, status, *limits)

    def _unknown(self, bucket: str, limits: tuple[int, int] | None) -> bool:
        """Settle the probe of ``bucket``; True when the answer reported no limits."""
        self._probes.pop(bucket, None)
        if limits is None:
            if len(self._unlimited) >= MAX_TRACKED:
                self._unlimited.clear()
            self._unlimited.add(bucket)
            return True
        self._unlimited.discard(bucket)
        self._limited = True
        return False

    def _probe(self, bucket: str) -> float:
        """Before any answer on ``bucket``: one request asks, the others wait for it (a
        fleet's first burst would otherwise all be sent blind)."""
        if not self._limited or bucket in self._unlimited:
            return 0.0
        now = self._clock()
        sent = self._probes.get(bucket)
        if sent is not None and now - sent < PROBE_PATIENCE:
            return PROBE_POLL
        if len(self._probes) >= MAX_TRACKED:
            self._probes.clear()
        self._probes[bucket] = now
        return 0.0

    def _reserve(self, buckets: dict[str, _Bucket], bucket: str) -> float:
        state = buckets.get(bucket)
        if state is None:
            return self._probe(bucket)
        now = self._clock()
        if state.resets_at - now > state.window:
            # Never more than a window ahead: a stale record (another boot's clock).
            state.resets_at = now
        if now >= state.resets_at:  # a new window: its budget is unknown until an answer
            elapsed = now - state.resets_at
            state.resets_at += (elapsed // state.window + 1) * state.window
            state.allowance = None
            if self._rng() >= state.share:  # sit this window out: the fleet has too many
                return self._until_next_window(state, now)
            return 0.0  # one blind request: its answer sets the budget (others wait for it)
        if state.allowance is None:  # a blind request is out: its answer sets the budget
            return min(state.resets_at - now, JITTER_FRACTION * state.window)
        if state.allowance > 0:
            state.allowance -= 1
            return 0.0
        return self._until_next_window(state, now)

    def _until_next_window(self, state: _Bucket, now: float) -> float:
        return state.resets_at - now + self._rng() * JITTER_FRACTION * state.window

    def _observe(
        self, buckets: dict[str, _Bucket], bucket: str, status: int, remaining: int, reset: int
    ) -> None:
        now = self._clock()
        state = buckets.get(bucket)
        if state is None:
            if len(buckets) >= MAX_TRACKED:
                buckets.pop(next(iter(buckets)))
            state = buckets[bucket] = _Bucket(now + reset, float(max(reset, 1)))
        state.window = float(max(reset, 1, state.window))
        if status == 429:
            state.share = max(MIN_SHARE, state.share * 0.5)
            remaining = 0
        else:
            state.share = min(1.0, state.share * SHARE_GROWTH)
        # The server's figure counts the whole fleet behind this IP; take our share of it.
        offered = int(remaining * state.share)
        resets_at = now + reset
        if state.allowance is not None and abs(resets_at - state.resets_at) < 1.0:
            # The same window (``reset`` is in whole seconds). Answers overtake each other
            # and every request still in flight will be counted: never raise what is left
            # from an answer, only lower it.
            state.allowance = min(state.allowance, offered)
        else:
            state.allowance = offered
            state.resets_at = resets_at


class HostPacer(Pacer):
    """A pacer whose buckets live in a file every process of this host (and user) shares.

    Each reserve and observe takes an exclusive ``flock`` on the file for the few
    microseconds it reads, updates and writes the buckets (JSON). The monotonic clock is
    the system's, so deadlines mean the same in every process. The file is created only
    when the server first reports a limit: a self-hosted server (no headers) costs one
    ``stat`` per request.
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        super().__init__(clock=clock, rng=rng)
        self.path = path
        self._fd: int | None = None
        self._absent_until = 0.0
        self._local = False
        """The file could not be used (read-only or foreign directory): this process paces
        on its own, as with ``"process"``. Pacing is advice; it never fails a call."""

    def reserve(self, bucket: str) -> float:
        with self._lock:
            if self._local:
                return self._reserve(self._buckets, bucket)
            if bucket in self._unlimited:
                return 0.0
            if self._fd is None:
                # Until some process of this host is told of a limit there is no file;
                # look for it at most once a second (self-hosted servers send no limits).
                now = self._clock()
                if now < self._absent_until:
                    return self._probe(bucket)
                if not os.path.exists(self.path):
                    self._absent_until = now + 1.0
                    return self._probe(bucket)
            self._limited = True  # the file exists: some process was told of limits
            try:
                with self._shared_buckets() as buckets:
                    return self._reserve(buckets, bucket)
            except OSError as exc:
                self._go_local(exc)
                return self._reserve(self._buckets, bucket)

    def observe(self, bucket: str, status: int, headers: Mapping[str, str]) -> None:
        limits = _limits(headers)
        with self._lock:
            if self._unknown(bucket, limits):
                return
            assert limits is not None
            self._absent_until = 0.0
            if not self._local:
                try:
                    with self._shared_buckets() as buckets:
                        self._observe(buckets, bucket, status, *limits)
                    return
                except OSError as exc:
                    self._go_local(exc)
            self._observe(self._buckets, bucket, status, *limits)

    def _go_local(self, exc: OSError) -> None:
        log.warning(
            "rate-limit pacing cannot share %s (%s); this process paces on its own",
            self.path.parent,
            type(exc).__name__,
        )
        self._local = True
        self.close()

    @contextlib.contextmanager
    def _shared_buckets(self) -> Iterator[dict[str, _Bucket]]:
        if self._fd is None:
            folder = self.path.parent
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            info = folder.stat()
            if info.st_uid != os.getuid() or info.st_mode & 0o077:
                # Made by someone else, or open to others: not ours to trust.
                raise PermissionError(f"{folder} is not private to this user")
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fd = self._fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            buckets = _load(fd)
            yield buckets
            data = json.dumps({k: v.to_json() for k, v in buckets.items()}).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _load(fd: int) -> dict[str, _Bucket]:
    """The buckets in the file; a damaged file counts as empty (it is only advice)."""
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 65536, offset):
        chunks.append(chunk)
        offset += len(chunk)
    try:
        raw = json.loads(b"".join(chunks) or b"{}")
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    buckets = {}
    for key, value in raw.items():
        bucket = _Bucket.from_json(value)
        if isinstance(key, str) and bucket is not None:
            buckets[key] = bucket
    return buckets


PacingScope = Literal["host", "process", "off"]
"""Who shares what the server says of its limits: every process of this host (and user),
the clients of one process, or nobody (no pacing at all)."""

_shared: dict[tuple[str, str], Pacer] = {}
_shared_lock = threading.Lock()


def host_pacer_path(site_url: str) -> Path:
    """Where the processes of this host and user keep what ``site_url`` said of its limits."""
    digest = hashlib.sha256(site_url.encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"infisical-async-{os.getuid()}" / f"pacing-{digest}"


def shared_pacer(site_url: str, scope: PacingScope) -> Pacer | None:
    """The pacer of every client in this process (and, with ``"host"``, every process of
    this host) that talks to ``site_url``."""
    if scope == "off":
        return None
    if scope == "host" and fcntl is None:  # no flock here (Windows): a process's own
        scope = "process"
    with _shared_lock:
        pacer = _shared.get((site_url, scope))
        if pacer is None:
            pacer = HostPacer(host_pacer_path(site_url)) if scope == "host" else Pacer()
            _shared[(site_url, scope)] = pacer
        return pacer


def _forget_after_fork() -> None:
    # A forked child gets fresh pacers, locks and file descriptors: a lock the parent held
    # at the fork would never be released in the child, and an inherited descriptor shares
    # its flock with the parent's (so it would exclude nothing).
    global _shared_lock
    for pacer in _shared.values():
        pacer._lock = threading.Lock()
        if isinstance(pacer, HostPacer) and pacer._fd is not None:
            os.close(pacer._fd)
            pacer._fd = None
    _shared.clear()
    _shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def _limits(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(remaining, seconds to reset) of an answer, or None when it reports no limits."""
    remaining = _count(headers.get("x-ratelimit-remaining"))
    reset = _count(headers.get("x-ratelimit-reset"))
    if remaining is None or reset is None:
        return None
    return remaining, reset


def _count(value: str | None) -> int | None:
    """A non-negative integer header, or None (absent or malformed: ignored)."""
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value)
