"""``check_health``: one dict for a ``/healthz`` route, from the client and its keepers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import InfisicalError

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient
    from .._keeper import HeldLease
    from ._pool import RotatingPool

__all__ = ["check_health"]


def _describe(error: BaseException | None) -> str | None:
    # Our errors never carry secret values; anything else is named by its type only.
    if error is None:
        return None
    if isinstance(error, InfisicalError):
        return f"{type(error).__name__}: {error}"
    return type(error).__name__


def lease_health(held: HeldLease, *, rebuild_error: BaseException | None = None) -> dict[str, Any]:
    """One keeper's state, read without I/O."""
    healthy = held.healthy and rebuild_error is None
    report: dict[str, Any] = {
        "status": "ok" if healthy else "fail",
        "expires_in": round(held.expires_in, 3),
        "renewals": held.renewals,
        "rotations": held.rotations,
        "last_error": _describe(held.last_error),
    }
    if rebuild_error is not None:
        report["pool_error"] = _describe(rebuild_error)
    return report


async def check_health(
    client: AsyncInfisicalClient,
    leases: Mapping[str, HeldLease | RotatingPool[Any]] | None = None,
    *,
    timeout: float = 5.0,
) -> dict[str, Any]:
    """``client.ping()`` plus every keeper's health, as a JSON-ready dict.

    ``{"status": "ok" | "fail", "infisical": {"status": ..., "latency_ms": ... | "error":
    ...}, "leases": {name: {"status", "expires_in", "renewals", "rotations",
    "last_error"}}}``. ``status`` is ``"ok"`` only when the server answered within
    ``timeout`` seconds (one attempt, no retries) and every keeper is healthy; a ``/healthz``
    route answers 503 otherwise. Nothing in it is secret.
    """
    from ._pool import RotatingPool  # a cycle otherwise: the pool reports through here

    server: dict[str, Any]
    try:
        # The outer bound also covers a login the ping may have to wait for.
        latency = await asyncio.wait_for(
            client.with_options(timeout=timeout, max_retries=0).ping(), timeout
        )
    except InfisicalError as exc:
        server = {"status": "fail", "error": _describe(exc)}
    except asyncio.TimeoutError:
        server = {"status": "fail", "error": f"APITimeoutError: no answer within {timeout}s"}
    else:
        server = {"status": "ok", "latency_ms": round(latency * 1000, 1)}
    report: dict[str, Any] = {"status": server["status"], "infisical": server, "leases": {}}
    for name, item in (leases or {}).items():
        if isinstance(item, RotatingPool):
            entry = lease_health(item.held, rebuild_error=item.last_error)
        else:
            entry = lease_health(item)
        report["leases"][name] = entry
        if entry["status"] != "ok":
            report["status"] = "fail"
    return report
