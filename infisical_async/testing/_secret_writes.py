"""Creating and changing secrets: plain functions over the server's state, no HTTP.

Every write goes through `ServerState.put_secret`, `remove_secret` or
`notify_secret_change`, so listeners hear about each one.
"""

from __future__ import annotations

from typing import Any

from ._secret_reads import find_secret
from ._state import SecretChange, SecretRecord, SecretVersion, ServerState, iso, new_id, now_utc
from ._wire import ApiError

__all__ = [
    "check_secret_name",
    "check_tags",
    "create_secret_record",
    "normalize_value",
    "pending_approval",
    "update_secret_record",
]


def check_secret_name(value: str) -> str | None:
    """The server's complaint about a secret name, or None when it is acceptable."""
    if ":" in value or "/" in value:
        return "Secret name cannot contain colon or forward slash."
    return None


def normalize_value(value: str) -> str:
    """The server trims values, keeping one trailing newline if there was one."""
    return value.strip() + ("\n" if value.endswith("\n") else "")


def pending_approval(state: ServerState, env: str, path: str) -> dict[str, Any] | None:
    """The answer to a write held for change approval at this folder, else None."""
    if (env, path) not in state.approval_paths:
        return None
    return {
        "approval": {
            "id": new_id(),
            "policyId": new_id(),
            "status": "open",
            "slug": "approval",
            "createdAt": iso(now_utc()),
            "updatedAt": iso(now_utc()),
        }
    }


def check_tags(state: ServerState, tag_ids: list[Any] | None) -> list[str]:
    """``tag_ids`` as strings; a 400 when one of them is not a tag of the project."""
    if not tag_ids:
        return []
    missing = [t for t in tag_ids if t not in state.tags]
    if missing:
        raise ApiError(400, "One or more tags not found", "BadRequest")
    return [str(t) for t in tag_ids]


def create_secret_record(
    state: ServerState, env: str, path: str, key: str, fields: dict[str, Any]
) -> SecretRecord:
    """Store a new secret from validated wire ``fields`` (``secretValue``, ``type``, ...)."""
    secret_type = fields.get("type") or "shared"
    if find_secret(state, env, path, key, secret_type) is not None:
        raise ApiError(400, "Secret already exist", "BadRequest")
    value = normalize_value(fields["secretValue"])
    comment = fields.get("secretComment") or ""
    record = SecretRecord(
        id=new_id(),
        key=key,
        env=env,
        path=path,
        type=secret_type,
        owner_id=state.identity.id if secret_type == "personal" else None,
        value=value,
        comment=comment,
        tag_ids=check_tags(state, fields.get("tagIds")),
        metadata=fields.get("secretMetadata") or [],
        reminder_note=fields.get("secretReminderNote"),
        reminder_repeat_days=fields.get("secretReminderRepeatDays"),
        skip_multiline_encoding=bool(fields.get("skipMultilineEncoding")),
        history=[SecretVersion(1, value, comment)],
    )
    state.put_secret(record)
    return record


def update_secret_record(state: ServerState, record: SecretRecord, fields: dict[str, Any]) -> None:
    """Apply validated wire ``fields`` to ``record``: a new version (renamed when
    ``newSecretName`` is given); fields left out or null keep their value."""
    new_name = fields.get("newSecretName")
    previous_key = None
    if new_name and new_name != record.key:
        if find_secret(state, record.env, record.path, new_name, record.type) is not None:
            raise ApiError(400, "Secret with the new name already exist", "BadRequest")
        previous_key = record.key
        state.rename_secret(record, new_name)
    if fields.get("secretValue") is not None:
        record.value = normalize_value(fields["secretValue"])
    if fields.get("secretComment") is not None:
        record.comment = fields["secretComment"]
    if fields.get("tagIds") is not None:
        record.tag_ids = check_tags(state, fields["tagIds"])
    if fields.get("secretMetadata") is not None:
        record.metadata = fields["secretMetadata"]
    if fields.get("skipMultilineEncoding") is not None:
        record.skip_multiline_encoding = fields["skipMultilineEncoding"]
    for wire, attr in (
        ("secretReminderNote", "reminder_note"),
        ("secretReminderRepeatDays", "reminder_repeat_days"),
    ):
        if wire in fields and fields[wire] is not None:
            setattr(record, attr, fields[wire])
    record.version += 1
    record.updated_at = now_utc()
    record.history.append(SecretVersion(record.version, record.value, record.comment))
    state.notify_secret_change(
        SecretChange(record.env, record.path, record.key, "updated", record.type, previous_key)
    )
