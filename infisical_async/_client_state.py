"""What an ``AsyncInfisicalClient`` and all of its ``with_options`` views share.

A view differs from its client only in per-call options (deadline, retries). Everything
with a life of its own lives here, once: the HTTP transport, the access token, the cache,
reads in flight, running lease keepers and what was learned about the server. Keeping it
in one object (instead of attributes copied onto each view) is what makes a keeper
started from a view stop on the client's ``aclose()``, and a server generation learned
through one view hold for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from ._auth import TokenManager
    from ._cache import ResponseCache
    from ._generations import ApiGenerations
    from ._keeper import LeaseKeeper
    from ._live_cache import LiveCache
    from ._shared_reads import SharedReads
    from ._transport import Transport
    from ._types import Timeout

__all__ = ["CallOptions", "ClientDefaults", "ClientState"]


@attrs.frozen(kw_only=True)
class ClientDefaults:
    """The defaults every call of the client falls back to."""

    site_url: str
    project_id: str | None
    project_slug: str | None
    environment: str | None
    secret_path: str
    min_ttl: timedelta


@attrs.frozen(cache_hash=True)  # part of every coalesced read's key: hashed on each call
class CallOptions:
    """What a ``with_options`` view changes for its calls (None: the client's own)."""

    timeout: Timeout | None = None
    max_retries: int | None = None


class ClientState:
    """One per client; every view holds the same instance."""

    def __init__(
        self,
        *,
        defaults: ClientDefaults,
        transport: Transport,
        tokens: TokenManager,
        cache: ResponseCache,
        generations: ApiGenerations,
        coalesce_reads: bool,
    ) -> None:
        self.defaults = defaults
        self.transport = transport
        self.tokens = tokens
        self.cache = cache
        self.generations = generations
        self.coalesce_reads = coalesce_reads
        self.inflight: dict[Hashable, asyncio.Future[Any]] = {}
        """Reads in flight by (cache key, cache generation, options), shared by identical
        calls."""
        self.keepers: set[LeaseKeeper] = set()
        """Lease keepers running on this client, whichever view started them."""
        self.project_slugs: dict[str, str] = {}
        """Project id -> slug, looked up once for dynamic-secret routes."""
        self.shared_cache: SharedReads | None = None
        """Reads through a cache shared with other processes (``cache=``), if given."""
        self.watching = False
        """Whether a watch was ever started on this client (its module then is loaded,
        and closing the client ends the watches)."""
        self.live_cache: LiveCache | None = None
        """The live cache (``cache_mode="live"``), which cached reads tell their project."""
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
        """What components that wait (keepers) schedule with; tests replace both."""
