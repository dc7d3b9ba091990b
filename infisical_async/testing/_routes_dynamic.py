"""Dynamic secrets and their leases, with real provider calls and an expiry sweeper."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import timedelta
from typing import Any

from aiohttp import web

from ._context import Context, normalize_path
from ._ms import DAY_MS, MINUTE_MS, TEN_YEARS_MS, ms
from ._providers import ProviderError, get_provider, provider_issues
from ._state import DynamicSecretRecord, LeaseRecord, iso, new_id, now_utc
from ._wire import ApiError, F, validate, validation_error

__all__ = ["LeaseSweeper", "add_dynamic_secret_routes"]

log = logging.getLogger("infisical_async.testing")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _slug_check(value: str) -> str | None:
    if not (1 <= len(value) <= 64) or not _SLUG.match(value):
        return "Name field must be a valid slug (lowercase letters, digits and hyphens)"
    return None


def _ms(value: str) -> float:
    parsed = ms(value)
    if parsed is None:
        raise ApiError(400, f"Invalid date format string: {value}", "BadRequest")
    return parsed


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


def add_dynamic_secret_routes(app: web.Application, ctx: Context) -> None:
    state = ctx.state
    min_ms = 1000.0 if ctx.config.allow_short_ttl else MINUTE_MS

    def ttl_check(value: Any) -> str | None:
        if value in (None, ""):
            return None
        parsed = ms(value)
        if parsed is None:
            return None  # ms 2.x yields undefined: validation passes, use fails later
        if parsed < min_ms:
            return "TTL must be a greater than 1min"
        if ctx.legacy and parsed > DAY_MS:
            return "TTL must be less than a day"  # the October-2024 cap
        if parsed > TEN_YEARS_MS:
            return "TTL must be less than 10 years"
        return None

    location = {
        "projectSlug": F("str", required=True, min_len=1),
        "environmentSlug": F("str", required=True, min_len=1),
        "path": F("str", default="/"),
    }

    def locate(values: dict[str, Any]) -> tuple[str, str]:
        if ctx.legacy and values["projectSlug"] != state.project_slug:
            # The 2024 server failed the lookup inside a generic handler.
            raise ApiError(500, "Something went wrong", "Find project by slug")
        ctx.check_project_slug(values["projectSlug"])
        env, path = values["environmentSlug"], normalize_path(values["path"])
        if env not in state.environments or state.folder(env, path) is None:
            raise ApiError(
                404,
                f"Folder with path '{path}' in environment with slug '{env}' not found",
                "NotFound",
            )
        return env, path

    def find_ds(env: str, path: str, name: str) -> DynamicSecretRecord:
        record = state.dynamic_secrets.get((env, path, name))
        if record is None:
            if ctx.legacy:
                raise ApiError(404, "Dynamic secret not found", "NotFound")
            raise ApiError(
                404,
                f"Dynamic secret with name '{name}' in folder with path '{path}' not found",
                "NotFound",
            )
        return record

    def ds_json(record: DynamicSecretRecord, *, inputs: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": record.id,
            "name": record.name,
            "version": record.version,
            "type": record.type,
            "defaultTTL": record.default_ttl,
            "maxTTL": record.max_ttl,
            "folderId": record.folder_id,
            "status": record.status,
            "statusDetails": record.status_details,
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
        }
        if not ctx.legacy:
            data["usernameTemplate"] = record.username_template
            data["metadata"] = record.metadata
        if inputs:
            data["inputs"] = record.inputs
        return data

    def lease_json(lease: LeaseRecord) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": lease.id,
            "version": lease.version,
            "externalEntityId": lease.external_entity_id,
            "expireAt": iso(lease.expire_at),
            "status": lease.status,
            "statusDetails": lease.status_details,
            "dynamicSecretId": lease.dynamic_secret_id,
            "createdAt": iso(lease.created_at),
            "updatedAt": iso(lease.updated_at),
        }
        if not ctx.legacy:
            data["config"] = lease.config
        return data

    def lease_missing(lease_id: str) -> ApiError:
        if ctx.legacy:
            return ApiError(404, "Dynamic secret lease not found", "NotFound")
        return ApiError(404, f"Dynamic secret lease with ID '{lease_id}' not found", "NotFound")

    def lease_or_404(lease_id: str) -> LeaseRecord:
        lease = state.leases.get(lease_id)
        if lease is None:
            raise lease_missing(lease_id)
        return lease

    def ds_of(lease: LeaseRecord, env: str, path: str) -> DynamicSecretRecord:
        """The lease's dynamic secret, which must live at the addressed folder."""
        for (e, p, _), record in state.dynamic_secrets.items():
            if record.id == lease.dynamic_secret_id and (e, p) == (env, path):
                return record
        raise lease_missing(lease.id)

    async def create_ds(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(
            await ctx.body(request),
            {
                **location,
                "provider": F("dict", required=True),
                "defaultTTL": F("str", required=True, check=ttl_check),
                "maxTTL": F("str", nullable=True, check=ttl_check),
                "name": F("str", required=True, check=_slug_check),
                "metadata": F("list"),
                "usernameTemplate": F("str", nullable=True, max_len=255),
            },
        )
        provider = validate(
            body["provider"], {"type": F("str", required=True), "inputs": F("dict", required=True)}
        )
        missing = provider_issues(provider["type"], provider["inputs"])
        if missing:
            raise validation_error(
                [
                    {
                        "code": "invalid_type",
                        "expected": "string",
                        "received": "undefined",
                        "path": ["provider", "inputs", name],
                        "message": "Required",
                    }
                    for name in missing
                ]
            )
        env, path = locate(body)
        _ms(body["defaultTTL"])
        if body.get("maxTTL"):
            _ms(body["maxTTL"])
        if (env, path, body["name"]) in state.dynamic_secrets:
            raise ApiError(
                400, "Provided dynamic secret already exist under the folder", "BadRequest"
            )
        inputs = dict(provider["inputs"])
        if isinstance(inputs.get("host"), str):
            inputs["host"] = inputs["host"].strip().lower()
        if provider["type"] in ("sql-database", "redis"):
            try:
                await get_provider(provider["type"], inputs).check(inputs)
            except ProviderError as exc:
                raise ApiError(400, str(exc)[:500], "BadRequest") from None
        folder = state.folder(env, path)
        assert folder is not None
        record = DynamicSecretRecord(
            id=new_id(),
            name=body["name"],
            type=provider["type"],
            inputs=inputs,
            default_ttl=body["defaultTTL"],
            max_ttl=body.get("maxTTL"),
            env=env,
            path=path,
            folder_id=folder.id,
            username_template=body.get("usernameTemplate"),
            metadata=body.get("metadata") or [],
        )
        state.dynamic_secrets[(env, path, record.name)] = record
        return ctx.json({"dynamicSecret": ds_json(record, inputs=not ctx.legacy)})

    async def get_ds(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, location, query=True)
        env, path = locate(q)
        record = find_ds(env, path, request.match_info["name"].lower())
        return ctx.json({"dynamicSecret": ds_json(record, inputs=True)})

    async def list_ds(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, location, query=True)
        env, path = locate(q)
        found = [
            ds_json(r) for (e, p, _), r in state.dynamic_secrets.items() if (e, p) == (env, path)
        ]
        return ctx.json({"dynamicSecrets": found})

    async def update_ds(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), {**location, "data": F("dict", required=True)})
        data = validate(
            body["data"],
            {
                "inputs": F("dict"),
                "defaultTTL": F("str", check=ttl_check),
                "maxTTL": F("str", nullable=True, check=ttl_check),
                "newName": F("str", check=_slug_check),
                "metadata": F("list"),
                "usernameTemplate": F("str", nullable=True),
            },
        )
        env, path = locate(body)
        name = request.match_info["name"].lower()
        record = find_ds(env, path, name)
        new_name = data.get("newName")
        if new_name and new_name != name:
            if (env, path, new_name) in state.dynamic_secrets:
                raise ApiError(400, "New dynamic secret name already exists", "BadRequest")
            del state.dynamic_secrets[(env, path, name)]
            record.name = new_name
            state.dynamic_secrets[(env, path, new_name)] = record
        if data.get("inputs"):
            record.inputs = {**record.inputs, **data["inputs"]}
        if data.get("defaultTTL"):
            _ms(data["defaultTTL"])
            record.default_ttl = data["defaultTTL"]
        if "maxTTL" in body["data"]:
            record.max_ttl = data.get("maxTTL")
        if data.get("metadata") is not None:
            record.metadata = data["metadata"]
        if "usernameTemplate" in body["data"]:
            record.username_template = data.get("usernameTemplate")
        record.version += 1
        record.updated_at = now_utc()
        return ctx.json({"dynamicSecret": ds_json(record, inputs=True)})

    async def delete_ds(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), {**location, "isForced": F("bool", default=False)})
        env, path = locate(body)
        name = request.match_info["name"].lower()
        record = find_ds(env, path, name)
        for lease in [
            lease for lease in state.leases.values() if lease.dynamic_secret_id == record.id
        ]:
            try:
                await get_provider(record.type, record.inputs).revoke(
                    record.inputs, lease.external_entity_id
                )
            except (ProviderError, ApiError):
                if not body["isForced"]:
                    record.status, record.status_details = "Failed to delete", "lease revocation"
                    return ctx.json({"dynamicSecret": ds_json(record)})
            state.leases.pop(lease.id, None)
        del state.dynamic_secrets[(env, path, name)]
        return ctx.json({"dynamicSecret": ds_json(record)})

    async def create_lease(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(
            await ctx.body(request),
            {
                **location,
                "dynamicSecretName": F("str", required=True, min_len=1),
                "ttl": F("str", check=ttl_check),
                "config": F("any"),
            },
        )
        env, path = locate(body)
        record = find_ds(env, path, body["dynamicSecretName"].lower())
        ttl_ms = _ms(body.get("ttl") or record.default_ttl)
        now = now_utc()
        expire_at = now + timedelta(milliseconds=ttl_ms)
        if record.max_ttl and expire_at > now + timedelta(milliseconds=_ms(record.max_ttl)):
            raise ApiError(400, "TTL cannot be larger than max TTL", "BadRequest")
        provider = get_provider(record.type, record.inputs)
        try:
            entity, data = await provider.create(record.inputs, expire_at)
        except ProviderError as exc:
            raise ApiError(400, str(exc)[:500], "BadRequest") from None
        lease = LeaseRecord(
            id=new_id(),
            dynamic_secret_id=record.id,
            external_entity_id=entity,
            expire_at=expire_at,
            config=body.get("config"),
            created_at=now,
            updated_at=now,
        )
        state.leases[lease.id] = lease
        return ctx.json(
            {"lease": lease_json(lease), "dynamicSecret": ds_json(record), "data": data}
        )

    async def get_lease(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, location, query=True)
        env, path = locate(q)
        lease = lease_or_404(request.match_info["leaseId"])
        record = ds_of(lease, env, path)
        return ctx.json({"lease": {**lease_json(lease), "dynamicSecret": ds_json(record)}})

    async def list_leases(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, location, query=True)
        env, path = locate(q)
        record = find_ds(env, path, request.match_info["name"].lower())
        found = [
            lease_json(lease)
            for lease in state.leases.values()
            if lease.dynamic_secret_id == record.id
        ]
        return ctx.json({"leases": found})

    async def renew_lease(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), {**location, "ttl": F("str", check=ttl_check)})
        env, path = locate(body)
        lease = lease_or_404(request.match_info["leaseId"])
        record = ds_of(lease, env, path)
        ttl_ms = _ms(body.get("ttl") or record.default_ttl)
        new_expiry = lease.expire_at + timedelta(milliseconds=ttl_ms)
        if record.max_ttl and new_expiry > lease.created_at + timedelta(
            milliseconds=_ms(record.max_ttl)
        ):
            if ctx.legacy:
                raise ApiError(400, "TTL cannot be larger than max ttl", "BadRequest")
            raise ApiError(
                400,
                "The requested renewal would exceed the maximum allowed lease "
                "duration. Please choose a shorter TTL",
                "BadRequest",
            )
        if ctx.legacy and record.type == "sql-database" and not record.inputs.get("renewStatement"):
            # The 2024 server ran an empty renew statement and failed.
            raise ApiError(500, "Something went wrong", "InternalServerError")
        try:
            await get_provider(record.type, record.inputs).renew(
                record.inputs, lease.external_entity_id, new_expiry
            )
        except ProviderError as exc:
            raise ApiError(400, str(exc)[:500], "BadRequest") from None
        lease.expire_at = new_expiry
        lease.updated_at = now_utc()
        return ctx.json({"lease": lease_json(lease)})

    async def revoke_lease(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), {**location, "isForced": F("bool", default=False)})
        env, path = locate(body)
        lease = lease_or_404(request.match_info["leaseId"])
        record = ds_of(lease, env, path)
        try:
            await get_provider(record.type, record.inputs).revoke(
                record.inputs, lease.external_entity_id
            )
        except (ProviderError, ApiError) as exc:
            if not body["isForced"]:
                lease.status, lease.status_details = "Failed to delete", str(exc)[:255]
                lease.updated_at = now_utc()
                return ctx.json({"lease": lease_json(lease)})
        del state.leases[lease.id]
        return ctx.json({"lease": lease_json(lease)})

    r = app.router
    r.add_post("/api/v1/dynamic-secrets", create_ds)
    r.add_get("/api/v1/dynamic-secrets", list_ds)
    r.add_post("/api/v1/dynamic-secrets/leases", create_lease)
    r.add_get("/api/v1/dynamic-secrets/leases/{leaseId}", get_lease)
    r.add_delete("/api/v1/dynamic-secrets/leases/{leaseId}", revoke_lease)
    r.add_post("/api/v1/dynamic-secrets/leases/{leaseId}/renew", renew_lease)
    r.add_get("/api/v1/dynamic-secrets/{name}/leases", list_leases)
    r.add_get("/api/v1/dynamic-secrets/{name}", get_ds)
    r.add_patch("/api/v1/dynamic-secrets/{name}", update_ds)
    r.add_delete("/api/v1/dynamic-secrets/{name}", delete_ds)
