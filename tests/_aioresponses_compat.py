"""Test-only shim: aioresponses 0.7.9 on aiohttp >= 3.14.

aiohttp 3.14 made ``stream_writer`` a required keyword of ``ClientResponse.__init__`` (and
reads ``stream_writer.output_size`` when ``writer`` is None); aioresponses 0.7.9 does not
pass it, so every mocked request fails with ``ClientResponse.__init__() missing ...
'stream_writer'``. Upstream: https://github.com/pnuckowski/aioresponses/issues/289 (fix in
PR #288, unmerged).

REMOVE this module (and its fixture in conftest.py) once an aioresponses release newer than
0.7.9 builds responses that aiohttp 3.14 accepts.
"""

from __future__ import annotations

import inspect
from typing import Any

import aioresponses.core
from aiohttp import ClientResponse

__all__ = ["NEEDS_SHIM", "CompatClientResponse", "install"]

NEEDS_SHIM = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


class _NullStreamWriter:
    output_size = 0
    buffer_size = 0


class CompatClientResponse(ClientResponse):
    """A ClientResponse whose ``stream_writer`` defaults to a stub that wrote nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NullStreamWriter())
        super().__init__(*args, **kwargs)


def install(monkeypatch: Any) -> None:
    """Make aioresponses build CompatClientResponse where it would build ClientResponse."""
    if NEEDS_SHIM:
        monkeypatch.setattr(aioresponses.core, "ClientResponse", CompatClientResponse)
