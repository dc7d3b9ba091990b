"""Revoking expired leases in the background, like the server's revocation queue."""

from __future__ import annotations

import asyncio
import contextlib

from ._context import Context
from ._providers import ProviderError, get_provider
from ._state import now_utc
from ._wire import ApiError

__all__ = ["LeaseSweeper"]


class LeaseSweeper:
    """Revokes leases whose expiry has passed, like the server's revocation queue."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ctx.config.sweep_interval)
            await self.sweep()

    async def sweep(self) -> int:
        state = self.ctx.state
        now = now_utc()
        revoked = 0
        for lease in [lease for lease in state.leases.values() if lease.expire_at <= now]:
            ds = next(
                (d for d in state.dynamic_secrets.values() if d.id == lease.dynamic_secret_id), None
            )
            try:
                if ds is not None:
                    await get_provider(ds.type, ds.inputs).revoke(
                        ds.inputs, lease.external_entity_id
                    )
            except (ProviderError, ApiError) as exc:
                lease.status, lease.status_details = "Failed to delete", str(exc)[:255]
                continue
            state.leases.pop(lease.id, None)
            revoked += 1
        return revoked
