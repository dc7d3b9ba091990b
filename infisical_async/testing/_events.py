"""The change-event bus behind the event-subscription route.

It listens to every secret write of the server's state, gathers the writes of one moment
into one frame per (event, environment, folder) after the configured publish delay (the
real server publishes from a queue job, after the write's answer), adds the
``secret:import-mutation`` frames of the folders that import a changed folder, and hands
each frame to the subscriptions it matches. Nothing is kept for later: a subscription
that is not connected when a frame goes out never sees it (no replay, as upstream).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ._json import dumps
from ._state import SecretChange, ServerState

__all__ = ["EVENT_NAMES", "EventBus", "Frame", "Registration", "Subscription", "path_matches"]

EVENT_NAMES = ("secret:create", "secret:update", "secret:delete", "secret:import-mutation")
_EVENT_OF_KIND = {
    "created": "secret:create",
    "updated": "secret:update",
    "deleted": "secret:delete",
}
_IMPORT_DEPTH = 10


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """picomatch with ``strictSlashes: false``, for the patterns seen in practice:
    ``**`` spans folders (``/app/**`` also matches ``/app``), ``*`` stays in one."""
    pattern = pattern.rstrip("/") or "/"
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("/**", i) and (i + 3 == len(pattern) or pattern[i + 3] == "/"):
            out.append("(?:/.*)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("^" + "".join(out) + "/?$")


def path_matches(pattern: str, path: str) -> bool:
    """Whether an event's folder ``path`` passes a registration's ``secretPath`` glob.

    A plain ``"/"`` (zod's default) matches the root folder only: ``"/**"`` is the subtree.
    """
    return _glob_regex(pattern).match(path) is not None or (pattern == "/**" and path == "/")


@dataclass(frozen=True)
class Registration:
    """One item of the request's ``register`` array."""

    event: str
    environment: str | None
    secret_path: str | None


@dataclass(frozen=True)
class Frame:
    event: str
    environment: str
    secret_path: str
    payload: Any

    def encode(self) -> bytes:
        data = {
            "projectType": "secret-manager",
            "data": {"eventType": self.event, "payload": self.payload},
        }
        return (
            f"id: {int(time.time() * 1000)}\nevent: {self.event}\ndata: {dumps(data)}\n\n"
        ).encode()


@dataclass(eq=False)
class Subscription:
    project_id: str
    registrations: tuple[Registration, ...]
    queue: asyncio.Queue[Frame | None] = field(default_factory=asyncio.Queue)
    revoked: bool = False

    def wants(self, frame: Frame) -> bool:
        return any(
            r.event == frame.event
            and (r.environment is None or r.environment == frame.environment)
            and (r.secret_path is None or path_matches(r.secret_path, frame.secret_path))
            for r in self.registrations
        )


class EventBus:
    """One per server. Touched only from the server's loop."""

    def __init__(self, state: ServerState, *, publish_delay: float) -> None:
        self._state = state
        self.publish_delay = publish_delay
        self.subscriptions: set[Subscription] = set()
        self._pending: dict[tuple[str, str, str], list[str]] = {}
        self._imports_pending: set[tuple[str, str]] = set()
        self._flush: asyncio.TimerHandle | None = None
        self.published = 0
        """Frames handed to at least one subscription (for tests)."""
        self._remove_listener = state.add_secret_listener(self.secret_changed)

    # -- what happened ------------------------------------------------------------------
    def secret_changed(self, change: SecretChange) -> None:
        event = _EVENT_OF_KIND.get(change.kind)
        if event is None:
            return
        keys = self._pending.setdefault((event, change.env, change.path), [])
        if change.key not in keys:
            keys.append(change.key)
        self._importers_changed(change.env, change.path)
        self._schedule()

    def import_changed(self, env: str, path: str) -> None:
        """An import was added to the folder (env, path)."""
        self._imports_pending.add((env, path))
        self._schedule()

    def _importers_changed(self, env: str, path: str) -> None:
        # The queue job walks importers recursively: an importer of an importer hears too.
        todo = [(env, path)]
        seen: set[tuple[str, str]] = set()
        while todo and len(seen) < _IMPORT_DEPTH * 10:
            source = todo.pop()
            for imp in self._state.imports:
                importer = (imp.env, imp.path)
                if (imp.import_env, imp.import_path) == source and importer not in seen:
                    seen.add(importer)
                    self._imports_pending.add(importer)
                    todo.append(importer)

    def _schedule(self) -> None:
        if self._flush is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # seeded before the server runs: nobody can be subscribed
                self.flush()
                return
            self._flush = loop.call_later(self.publish_delay, self.flush)

    def flush(self) -> None:
        """Publish what was gathered (the timer calls this)."""
        self._flush = None
        frames = [
            Frame(
                event,
                env,
                path,
                [{"environment": env, "secretPath": path, "secretKey": k} for k in keys],
            )
            for (event, env, path), keys in self._pending.items()
        ]
        frames += [
            # An object, not an array, for this event (upstream's shape).
            Frame("secret:import-mutation", env, path, {"environment": env, "secretPath": path})
            for env, path in sorted(self._imports_pending)
        ]
        self._pending.clear()
        self._imports_pending.clear()
        for frame in frames:
            self.publish(frame)

    def publish(self, frame: Frame) -> None:
        delivered = False
        for sub in list(self.subscriptions):
            if sub.project_id == self._state.project_id and sub.wants(frame):
                sub.queue.put_nowait(frame)
                delivered = True
        self.published += delivered

    # -- connections --------------------------------------------------------------------
    def count(self, project_id: str) -> int:
        return sum(1 for s in self.subscriptions if s.project_id == project_id)

    def end_all(self, subs: Iterable[Subscription] | None = None) -> int:
        """End streams cleanly (as a server shutdown does)."""
        chosen = list(self.subscriptions if subs is None else subs)
        for sub in chosen:
            sub.queue.put_nowait(None)
        return len(chosen)

    def revoke_all(self) -> int:
        """Send the permission-lost error frame, then end each stream."""
        for sub in self.subscriptions:
            sub.revoked = True
        return self.end_all()

    def close(self) -> None:
        if self._flush is not None:
            self._flush.cancel()
            self._flush = None
        self._remove_listener()
        self.end_all()
