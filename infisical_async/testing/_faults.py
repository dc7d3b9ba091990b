"""Fault injection and request counting for the embedded server."""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Fault", "FaultKind", "FaultPlan"]

FaultKind = Literal["status", "delay", "drop"]


@dataclass
class Fault:
    """Make the next ``remaining`` matching requests fail in one way."""

    kind: FaultKind
    remaining: int
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    path: re.Pattern[str] | None = None
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None


@dataclass
class FaultPlan:
    """Pending faults plus counters. Thread-safe: tests may drive it from another thread."""

    faults: list[Fault] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """Consume one use of the first fault matching the request, if any."""
        with self._lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.matches(method, path):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self.faults.remove(fault)
                    self.injected[fault.kind] += 1
                    return fault
        return None

    def count(self, route: str) -> None:
        with self._lock:
            self.requests[route] += 1

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.injected.clear()
