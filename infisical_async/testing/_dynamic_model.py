"""Dynamic secrets and leases as the API shows them: lookups, TTL rules, JSON shapes.

Plain functions over the server's `Context`, callable without HTTP.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from ._context import Context, normalize_path
from ._ms import DAY_MS, MINUTE_MS, TEN_YEARS_MS, ms
from ._state import DynamicSecretRecord, LeaseRecord, iso
from ._wire import ApiError, F

__all__ = [
    "LOCATION",
    "dynamic_secret_json",
    "dynamic_secret_of",
    "find_dynamic_secret",
    "lease_json",
    "lease_or_404",
    "locate",
    "parse_ttl",
    "slug_problem",
    "ttl_field",
    "ttl_problem",
]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slug_problem(value: str) -> str | None:
    if not (1 <= len(value) <= 64) or not _SLUG.match(value):
        return "Name field must be a valid slug (lowercase letters, digits and hyphens)"
    return None


def parse_ttl(value: str) -> float:
    """Milliseconds in a TTL string (a 400 when ``ms`` cannot read it)."""
    parsed = ms(value)
    if parsed is None:
        raise ApiError(400, f"Invalid date format string: {value}", "BadRequest")
    return parsed


def ttl_problem(ctx: Context, value: Any) -> str | None:
    """The server's complaint about a TTL string, or None (it accepts what ``ms`` cannot
    read here and fails when using it, as the real server does)."""
    min_ms = 1000.0 if ctx.config.allow_short_ttl else MINUTE_MS
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


def ttl_field(ctx: Context, **options: Any) -> F:
    """A TTL string field, checked against this server's floor and cap."""
    return F("str", check=functools.partial(ttl_problem, ctx), **options)


LOCATION = {
    "projectSlug": F("str", required=True, min_len=1),
    "environmentSlug": F("str", required=True, min_len=1),
    "path": F("str", default="/"),
}
"""Where a dynamic secret lives: every dynamic-secret and lease route takes these."""


def locate(ctx: Context, values: dict[str, Any]) -> tuple[str, str]:
    """The (environment, folder) named by validated `LOCATION` fields, or the server's error."""
    state = ctx.state
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


def find_dynamic_secret(ctx: Context, env: str, path: str, name: str) -> DynamicSecretRecord:
    state = ctx.state
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


def dynamic_secret_json(
    ctx: Context, record: DynamicSecretRecord, *, inputs: bool = False
) -> dict[str, Any]:
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


def lease_json(ctx: Context, lease: LeaseRecord) -> dict[str, Any]:
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


def lease_missing(ctx: Context, lease_id: str) -> ApiError:
    if ctx.legacy:
        return ApiError(404, "Dynamic secret lease not found", "NotFound")
    return ApiError(404, f"Dynamic secret lease with ID '{lease_id}' not found", "NotFound")


def lease_or_404(ctx: Context, lease_id: str) -> LeaseRecord:
    lease = ctx.state.leases.get(lease_id)
    if lease is None:
        raise lease_missing(ctx, lease_id)
    return lease


def dynamic_secret_of(ctx: Context, lease: LeaseRecord, env: str, path: str) -> DynamicSecretRecord:
    """The lease's dynamic secret, which must live at the addressed folder."""
    for (e, p, _), record in ctx.state.dynamic_secrets.items():
        if record.id == lease.dynamic_secret_id and (e, p) == (env, path):
            return record
    raise lease_missing(ctx, lease.id)
