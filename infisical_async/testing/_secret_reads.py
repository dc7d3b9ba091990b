"""Finding and rendering secrets: plain functions over the server's state, no HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ._context import Context, normalize_path
from ._state import SecretRecord, ServerState, iso
from ._wire import ApiError

__all__ = [
    "find_secret",
    "imports_json",
    "require_folder",
    "resolve_references",
    "secret_json",
    "subfolders",
    "visible_secrets",
]

_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_MAX_REFERENCE_DEPTH = 10


def find_secret(
    state: ServerState, env: str, path: str, key: str, secret_type: str
) -> SecretRecord | None:
    """The secret ``key`` of ``secret_type`` at ``path`` (a personal one: the identity's)."""
    owner = state.identity.id if secret_type == "personal" else None
    return state.secrets.get((env, path), {}).get((key, secret_type, owner))


def visible_secrets(state: ServerState, env: str, path: str) -> Iterable[SecretRecord]:
    """The shared secrets at ``path`` and the identity's personal ones."""
    me = state.identity.id
    for record in state.secrets.get((env, path), {}).values():
        if record.owner_id is None or record.owner_id == me:
            yield record


def resolve_references(state: ServerState, value: str, env: str, path: str, depth: int = 0) -> str:
    """Expand ``${KEY}`` (same folder) and ``${env.folder.sub.KEY}`` references; an unknown
    reference expands to nothing, and expansion stops after ten levels."""
    if depth > _MAX_REFERENCE_DEPTH or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        parts = match.group(1).strip().split(".")
        if len(parts) == 1:
            ref_env, ref_path, key = env, path, parts[0]
        else:
            ref_env, ref_path, key = parts[0], "/" + "/".join(parts[1:-1]), parts[-1]
            ref_path = normalize_path(ref_path)
        ref = find_secret(state, ref_env, ref_path, key, "shared")
        if ref is None:
            return ""
        return resolve_references(state, ref.value, ref_env, ref_path, depth + 1)

    return _REFERENCE.sub(substitute, value)


def secret_json(
    ctx: Context,
    record: SecretRecord,
    *,
    value: str | None = None,
    with_path: bool = False,
    with_tags: bool = False,
    hidden: bool = False,
) -> dict[str, Any]:
    """A secret as the API answers it (``value`` replaces the stored one, e.g. expanded)."""
    state = ctx.state
    data: dict[str, Any] = {
        "id": record.id,
        "_id": record.id,
        "workspace": state.project_id,
        "environment": record.env,
        "version": record.version,
        "type": record.type,
        "secretKey": record.key,
        "secretValue": "<hidden-by-infisical>"
        if hidden
        else (record.value if value is None else value),
        "secretComment": record.comment,
        "secretReminderNote": record.reminder_note,
        "secretReminderRepeatDays": record.reminder_repeat_days,
        "skipMultilineEncoding": record.skip_multiline_encoding,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
    }
    if ctx.legacy:
        data["metadata"] = None
    else:
        data["secretValueHidden"] = hidden
        data["secretMetadata"] = record.metadata
    if with_path:
        data["secretPath"] = record.path
    if with_tags:
        data["tags"] = [state.tags[t] for t in record.tag_ids if t in state.tags]
    return data


def subfolders(state: ServerState, env: str, path: str) -> list[str]:
    """Every folder below ``path`` (all depths), sorted."""
    prefix = "/" if path == "/" else path + "/"
    return sorted(p for (e, p) in state.folders if e == env and p != path and p.startswith(prefix))


def imports_json(ctx: Context, env: str, path: str, expand: bool) -> list[dict[str, Any]]:
    """The secrets imported into ``path``, grouped by import, as a list answers them."""
    state = ctx.state
    result = []
    for imp in sorted(state.imports, key=lambda i: i.position):
        if imp.env != env or imp.path != path:
            continue
        folder = state.folder(imp.import_env, imp.import_path)
        items = []
        for record in visible_secrets(state, imp.import_env, imp.import_path):
            value = (
                resolve_references(state, record.value, imp.import_env, imp.import_path)
                if expand
                else None
            )
            item = secret_json(ctx, record, value=value)
            item.pop("createdAt")
            item.pop("updatedAt")
            item["secretValueHidden"] = False
            items.append(item)
        result.append(
            {
                "secretPath": imp.import_path,
                "environment": imp.import_env,
                "folderId": folder.id if folder else None,
                "secrets": items,
            }
        )
    return result


def require_folder(ctx: Context, env: str, path: str) -> None:
    """Raise the server's 404 unless the environment and the folder exist."""
    ctx.check_environment(env)
    if ctx.state.folder(env, path) is None:
        if not ctx.current:  # recorded on the 2024 server (V5)
            raise ApiError(
                404, "Folder not found for the given environment slug & secret path", "NotFound"
            )
        raise ApiError(
            404,
            f"Folder with path '{path}' in environment with slug '{env}' not found",
            "NotFound",
        )
