"""Public data models. Frozen attrs classes; secret material never appears in ``repr``.

Fields are snake_case; the wire (camelCase) name is derived, or given as ``metadata["wire"]``.
Responses may carry more fields than these: unknown fields are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, overload

import attrs

__all__ = [
    "AccessToken",
    "ApprovalRequest",
    "BatchUpdateMode",
    "DynamicSecret",
    "Environment",
    "EncryptionAlgorithm",
    "Folder",
    "KeyUsage",
    "KmsKey",
    "KmsKeyList",
    "Lease",
    "NewSecret",
    "Project",
    "Secret",
    "SecretImport",
    "SecretList",
    "SecretMetadata",
    "SecretType",
    "SecretUpdate",
    "SigningAlgorithm",
    "Tag",
]

SecretType = Literal["shared", "personal"]
"""A shared secret, or a user's personal override of it."""

BatchUpdateMode = Literal["fail_on_not_found", "ignore", "upsert"]
"""What ``secrets.batch_update`` does with a key that does not exist: fail the whole batch,
skip it, or create it."""

KeyUsage = Literal["encrypt-decrypt", "sign-verify"]
"""What a KMS key is for."""

EncryptionAlgorithm = Literal["aes-256-gcm", "aes-128-gcm", "RSA_4096", "ECC_NIST_P256"]
"""A KMS key's algorithm: the AES ones encrypt, the RSA and ECC ones sign."""

SigningAlgorithm = Literal[
    "RSASSA_PSS_SHA_512",
    "RSASSA_PSS_SHA_384",
    "RSASSA_PSS_SHA_256",
    "RSASSA_PKCS1_V1_5_SHA_512",
    "RSASSA_PKCS1_V1_5_SHA_384",
    "RSASSA_PKCS1_V1_5_SHA_256",
    "ECDSA_SHA_512",
    "ECDSA_SHA_384",
    "ECDSA_SHA_256",
]
"""A signing scheme of a sign-verify KMS key (``kms.signing_algorithms`` lists a key's)."""


def _wire(name: str) -> dict[str, str]:
    return {"wire": name}


def _header_safe(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    # It goes into an Authorization header: control characters (CRLF) would corrupt it.
    if not value or not value.isprintable() or " " in value:
        raise ValueError(f"{attribute.name} is not usable as a bearer token")


def _not_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative")


@attrs.frozen(kw_only=True)
class AccessToken:
    """A machine-identity access token as the login and renew endpoints return it."""

    access_token: str = attrs.field(repr=False, validator=_header_safe)
    expires_in: int = attrs.field(validator=_not_negative)
    """Lifetime of this token in seconds (0: no expiry)."""
    access_token_max_ttl: int = attrs.field(default=0, metadata=_wire("accessTokenMaxTTL"))
    """Total lifetime budget across renewals in seconds (0: no cap)."""
    token_type: str = "Bearer"


@attrs.frozen(kw_only=True)
class Tag:
    id: str
    slug: str
    name: str | None = None
    color: str | None = None


@attrs.frozen(kw_only=True)
class SecretMetadata:
    key: str
    value: str = attrs.field(default="", repr=False)
    is_encrypted: bool = False


@attrs.frozen(kw_only=True)
class Secret:
    """One secret. ``value`` is left out of ``repr``."""

    key: str = attrs.field(metadata=_wire("secretKey"))
    value: str = attrs.field(repr=False, metadata=_wire("secretValue"))
    id: str | None = None
    version: int | None = None
    type: str = "shared"
    environment: str | None = None
    project_id: str | None = attrs.field(default=None, metadata=_wire("workspace"))
    secret_path: str | None = None
    comment: str | None = attrs.field(default=None, metadata=_wire("secretComment"))
    value_hidden: bool = attrs.field(default=False, metadata=_wire("secretValueHidden"))
    skip_multiline_encoding: bool | None = None
    reminder_note: str | None = attrs.field(default=None, metadata=_wire("secretReminderNote"))
    reminder_repeat_days: int | None = attrs.field(
        default=None, metadata=_wire("secretReminderRepeatDays")
    )
    # Tuples, like every collection in an answer the cache may hand to several callers:
    # what one caller does to its answer must not change the next caller's.
    tags: tuple[Tag, ...] | None = None
    secret_metadata: tuple[SecretMetadata, ...] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class SecretImport:
    """Secrets imported into a path from another environment/path."""

    secret_path: str
    environment: str
    folder_id: str | None = None
    secrets: tuple[Secret, ...] = ()


@attrs.frozen(kw_only=True)
class SecretList(Sequence[Secret]):
    """The answer of ``secrets.list``: the path's secrets and, if asked for, its imports.

    A sequence of the path's own secrets (a slice is a tuple of them).
    """

    secrets: tuple[Secret, ...]
    imports: tuple[SecretImport, ...] = ()

    def __iter__(self) -> Iterator[Secret]:
        return iter(self.secrets)

    def __len__(self) -> int:
        return len(self.secrets)

    @overload
    def __getitem__(self, index: int) -> Secret: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Secret, ...]: ...

    def __getitem__(self, index: int | slice) -> Secret | tuple[Secret, ...]:
        return self.secrets[index]

    def get(self, key: str) -> Secret | None:
        """Return the secret named ``key`` (own secrets win over imported ones), or None."""
        for secret in self.secrets:
            if secret.key == key:
                return secret
        for imported in reversed(self.imports):
            for secret in imported.secrets:
                if secret.key == key:
                    return secret
        return None

    def to_dict(self) -> dict[str, str]:
        """Map every key to its value; the path's own secrets override imported ones."""
        result: dict[str, str] = {}
        for imported in self.imports:
            for secret in imported.secrets:
                result.setdefault(secret.key, secret.value)
        for secret in self.secrets:
            result[secret.key] = secret.value
        return result


@attrs.frozen(kw_only=True)
class NewSecret:
    """One secret for ``secrets.batch_create``."""

    key: str = attrs.field(metadata=_wire("secretKey"))
    value: str = attrs.field(repr=False, metadata=_wire("secretValue"))
    comment: str | None = attrs.field(default=None, metadata=_wire("secretComment"))
    tag_ids: list[str] | None = None
    skip_multiline_encoding: bool | None = None
    secret_metadata: list[SecretMetadata] | None = None


@attrs.frozen(kw_only=True)
class SecretUpdate:
    """One change for ``secrets.batch_update``; unset fields are left as they are."""

    key: str = attrs.field(metadata=_wire("secretKey"))
    value: str | None = attrs.field(default=None, repr=False, metadata=_wire("secretValue"))
    new_key: str | None = attrs.field(default=None, metadata=_wire("newSecretName"))
    comment: str | None = attrs.field(default=None, metadata=_wire("secretComment"))
    secret_path: str | None = None
    tag_ids: list[str] | None = None
    skip_multiline_encoding: bool | None = None
    secret_metadata: list[SecretMetadata] | None = None


@attrs.frozen(kw_only=True)
class ApprovalRequest:
    """A pending change-approval request (the server answered ``{approval}``)."""

    id: str
    policy_id: str | None = None
    status: str | None = None
    slug: str | None = None
    created_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Folder:
    id: str
    name: str
    version: int | None = None
    env_id: str | None = None
    parent_id: str | None = None
    description: str | None = None
    path: str | None = None
    relative_path: str | None = None
    is_reserved: bool | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Environment:
    id: str
    name: str
    slug: str


@attrs.frozen(kw_only=True)
class Project:
    id: str
    name: str
    slug: str
    environments: tuple[Environment, ...] = ()


@attrs.frozen(kw_only=True)
class KmsKey:
    """A KMS key (the key material never leaves the server)."""

    id: str
    name: str
    # Open strings, not the KeyUsage / EncryptionAlgorithm literals: newer servers already
    # have values beyond them (an HMAC "generate-verify-mac" usage), and a key listed with
    # one must not fail the whole answer.
    key_usage: str | None = None
    """``None`` where the server does not say (October-2024 servers never do)."""
    encryption_algorithm: str | None = None
    """``None`` where the server does not say (October 2024: not on create/update/delete)."""
    project_id: str | None = None
    org_id: str | None = None
    description: str | None = None
    is_disabled: bool = False
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class KmsKeyList(Sequence[KmsKey]):
    """A page of ``kms.keys.list``: a sequence of its keys (a slice is a tuple of them),
    with the total for paging."""

    keys: tuple[KmsKey, ...]
    total_count: int = 0

    def __iter__(self) -> Iterator[KmsKey]:
        return iter(self.keys)

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, index: int) -> KmsKey: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[KmsKey, ...]: ...

    def __getitem__(self, index: int | slice) -> KmsKey | tuple[KmsKey, ...]:
        return self.keys[index]


@attrs.frozen(kw_only=True)
class DynamicSecret:
    """A dynamic secret. Provider ``inputs`` (admin credentials) are left out of ``repr``."""

    id: str
    name: str
    type: str
    default_ttl: str = attrs.field(metadata=_wire("defaultTTL"))
    max_ttl: str | None = attrs.field(default=None, metadata=_wire("maxTTL"))
    version: int | None = None
    folder_id: str | None = None
    status: str | None = None
    status_details: str | None = None
    username_template: str | None = None
    inputs: dict[str, Any] | None = attrs.field(default=None, repr=False)
    created_at: datetime | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class Lease:
    """A dynamic-secret lease. ``credentials`` is set only when the lease is created."""

    id: str
    expire_at: datetime
    external_entity_id: str | None = None
    version: int | None = None
    status: str | None = None
    status_details: str | None = None
    dynamic_secret_id: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    config: Any = None
    dynamic_secret: DynamicSecret | None = None
    credentials: Mapping[str, Any] | None = attrs.field(
        default=None, repr=False, metadata=_wire("data")
    )
