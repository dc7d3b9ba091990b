"""Markers that tell ``tools/generate_sync.py`` how a blocking twin differs.

They change nothing at run time (each returns the function as it is); the generator reads
them from the source:

* ``@async_only("http_session")``: the twin has no such parameter (an ``aiohttp`` session
  belongs to one event loop, and the blocking client owns its loop), and the parameter's
  entry is dropped from the twin's ``Args:``.
* ``@sync_note("...")``: a paragraph added to the twin's docstring only, for what differs
  in blocking code (e.g. which thread runs a callback).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["async_only", "sync_note"]

F = TypeVar("F", bound=Callable[..., Any])


def async_only(*parameters: str) -> Callable[[F], F]:
    """The blocking twin of the decorated function leaves out ``parameters``."""

    def mark(fn: F) -> F:
        return fn

    return mark


def sync_note(text: str) -> Callable[[F], F]:
    """The blocking twin's docstring ends with ``text`` as a paragraph of its own."""

    def mark(fn: F) -> F:
        return fn

    return mark
