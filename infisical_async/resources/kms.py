"""``client.kms``: keys held by Infisical's KMS; encrypt, decrypt, sign, verify.

Bytes in, bytes out: base64 is handled here. Ciphertexts are opaque strings to store as
they are.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Literal, cast

from .._namespace import Namespace
from .._retry import RetryMode
from .._serde import structure
from .._validation import pick, require_name, require_str
from ..errors import InvalidArgumentError, ResponseValidationError
from ..models import EncryptionAlgorithm, KeyUsage, KmsKey, KmsKeyList, SigningAlgorithm
from ._base import AsyncResource, segment, unwrap

if TYPE_CHECKING:
    pass

__all__ = ["AsyncKms", "AsyncKmsKeys"]

_BASE = "/api/v1/kms/keys"
_MAX_DATA = 4096


def _data(value: bytes, argument: str) -> str:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(argument, f"expected bytes, got {type(value).__name__}")
    if len(value) > _MAX_DATA:
        raise InvalidArgumentError(argument, f"at most {_MAX_DATA} bytes")
    return base64.b64encode(bytes(value)).decode()


def _text(data: object, field: str) -> str:
    """The string field ``field`` of an answer; anything else is the server's mistake."""
    value = unwrap(data, field)
    if not isinstance(value, str):
        raise ResponseValidationError(
            f"the server's `{field}` is not a string", errors=[f"$.{field}"]
        )
    return value


def _decoded(data: object, field: str) -> bytes:
    """The base64 field ``field`` of an answer, decoded."""
    try:
        return base64.b64decode(_text(data, field), validate=True)
    except ValueError:
        raise ResponseValidationError(
            f"the server's `{field}` is not base64", errors=[f"$.{field}"]
        ) from None


class AsyncKmsKeys(AsyncResource):
    """KMS keys of a project. Reached as ``client.kms.keys``."""

    async def list(
        self,
        *,
        project_id: str | None = None,
        offset: int = 0,
        limit: int = 100,
        search: str | None = None,
        order_direction: Literal["asc", "desc"] = "asc",
    ) -> KmsKeyList:
        """List a project's keys, a page of at most ``limit`` (1-100) at a time."""
        if not 1 <= limit <= 100:
            raise InvalidArgumentError("limit", "must be between 1 and 100")
        if offset < 0:
            raise InvalidArgumentError("offset", "must be >= 0")
        params = {
            "projectId": pick(project_id, self._client.project_id, "project_id"),
            "offset": str(offset),
            "limit": str(limit),
            "orderBy": "name",
            "orderDirection": order_direction,
        }
        if search:
            params["search"] = search
        data = await self._client._request("GET", _BASE, params=params, mode=RetryMode.IDEMPOTENT)
        return structure(data, KmsKeyList)

    async def get(self, key_id: str) -> KmsKey:
        """Fetch a key by id.

        Raises:
            NotFoundError: no such key.
        """
        data = await self._client._request(
            "GET", f"{_BASE}/{segment(require_name(key_id, 'key_id'))}", mode=RetryMode.IDEMPOTENT
        )
        return structure(unwrap(data, "key"), KmsKey)

    async def get_by_name(self, name: str, *, project_id: str | None = None) -> KmsKey:
        """Fetch a key by its name within a project."""
        data = await self._client._request(
            "GET",
            f"{_BASE}/key-name/{segment(require_name(name, 'name'))}",
            params={"projectId": pick(project_id, self._client.project_id, "project_id")},
            mode=RetryMode.IDEMPOTENT,
        )
        return structure(unwrap(data, "key"), KmsKey)

    async def create(
        self,
        name: str,
        *,
        key_usage: KeyUsage = "encrypt-decrypt",
        encryption_algorithm: EncryptionAlgorithm | None = None,
        description: str | None = None,
        project_id: str | None = None,
    ) -> KmsKey:
        """Create a key.

        Args:
            name: A slug of at most 32 characters.
            key_usage: ``"encrypt-decrypt"`` or ``"sign-verify"``.
            encryption_algorithm: ``"aes-256-gcm"`` (default) or ``"aes-128-gcm"`` to
                encrypt; ``"RSA_4096"`` (default) or ``"ECC_NIST_P256"`` to sign.
        """
        name = require_name(name, "name")
        if key_usage not in ("encrypt-decrypt", "sign-verify"):
            raise InvalidArgumentError("key_usage", "must be 'encrypt-decrypt' or 'sign-verify'")
        default = "aes-256-gcm" if key_usage == "encrypt-decrypt" else "RSA_4096"
        body: dict[str, object] = {
            "projectId": pick(project_id, self._client.project_id, "project_id"),
            "name": name,
            "keyUsage": key_usage,
            "encryptionAlgorithm": encryption_algorithm or default,
        }
        if description is not None:
            body["description"] = description
        data = await self._client._request("POST", _BASE, json=body, mode=RetryMode.WRITE)
        return structure(unwrap(data, "key"), KmsKey)

    async def update(
        self,
        key_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        is_disabled: bool | None = None,
    ) -> KmsKey:
        """Rename, describe, disable or re-enable a key."""
        body: dict[str, object] = {}
        if name is not None:
            body["name"] = require_name(name, "name")
        if description is not None:
            body["description"] = description
        if is_disabled is not None:
            body["isDisabled"] = is_disabled
        data = await self._client._request(
            "PATCH",
            f"{_BASE}/{segment(require_name(key_id, 'key_id'))}",
            json=body,
            mode=RetryMode.WRITE,
        )
        return structure(unwrap(data, "key"), KmsKey)

    async def delete(self, key_id: str) -> KmsKey | None:
        """Delete a key; what it encrypted can no longer be decrypted.

        Returns:
            The deleted key; ``None`` when a retry after a lost answer found it already
            gone (the earlier attempt deleted it).
        """
        data = await self._client._request(
            "DELETE",
            f"{_BASE}/{segment(require_name(key_id, 'key_id'))}",
            mode=RetryMode.DELETE,
        )
        return None if data is None else structure(unwrap(data, "key"), KmsKey)


class AsyncKms(AsyncResource):
    """Cryptography with KMS keys. Reached as ``client.kms``; keys under ``.keys``."""

    keys = Namespace(AsyncKmsKeys)

    # encrypt, decrypt and sign change nothing on the server (an encryption replayed after
    # a lost answer only yields another valid ciphertext), so they are retried like reads.

    def _path(self, key_id: str, action: str) -> str:
        return f"{_BASE}/{segment(require_name(key_id, 'key_id'))}/{action}"

    async def encrypt(self, key_id: str, plaintext: bytes) -> str:
        """Encrypt up to 4096 bytes; returns the ciphertext to store and later decrypt.

        The server also caps ciphertexts at 4096 bytes, so plaintexts close to the limit
        may not decrypt; keep them a few dozen bytes shorter.
        """
        data = await self._client._request(
            "POST",
            self._path(key_id, "encrypt"),
            json={"plaintext": _data(plaintext, "plaintext")},
            mode=RetryMode.IDEMPOTENT,
        )
        return _text(data, "ciphertext")

    async def decrypt(self, key_id: str, ciphertext: str) -> bytes:
        """Decrypt what `encrypt()` returned.

        Raises:
            BadRequestError: the ciphertext is not from this key, or was altered.
        """
        data = await self._client._request(
            "POST",
            self._path(key_id, "decrypt"),
            json={"ciphertext": require_str(ciphertext, "ciphertext")},
            mode=RetryMode.IDEMPOTENT,
        )
        return _decoded(data, "plaintext")

    async def sign(
        self,
        key_id: str,
        data: bytes,
        *,
        signing_algorithm: SigningAlgorithm,
        is_digest: bool = False,
    ) -> bytes:
        """Sign ``data`` (or, with ``is_digest=True``, a digest you computed)."""
        answer = await self._client._request(
            "POST",
            self._path(key_id, "sign"),
            json={
                "data": _data(data, "data"),
                "isDigest": is_digest,
                "signingAlgorithm": require_str(signing_algorithm, "signing_algorithm"),
            },
            mode=RetryMode.IDEMPOTENT,
        )
        return _decoded(answer, "signature")

    async def verify(
        self,
        key_id: str,
        data: bytes,
        signature: bytes,
        *,
        signing_algorithm: SigningAlgorithm,
        is_digest: bool = False,
    ) -> bool:
        """True when ``signature`` is this key's signature of ``data``."""
        answer = await self._client._request(
            "POST",
            self._path(key_id, "verify"),
            json={
                "data": _data(data, "data"),
                "signature": _data(signature, "signature"),
                "isDigest": is_digest,
                "signingAlgorithm": require_str(signing_algorithm, "signing_algorithm"),
            },
            mode=RetryMode.IDEMPOTENT,
        )
        valid = unwrap(answer, "signatureValid")
        if not isinstance(valid, bool):
            raise ResponseValidationError(
                "the server's `signatureValid` is not a boolean", errors=["$.signatureValid"]
            )
        return valid

    async def public_key(self, key_id: str) -> str:
        """The public half of a signing key, as the server returns it (base64 DER)."""
        data = await self._client._request(
            "GET", self._path(key_id, "public-key"), mode=RetryMode.IDEMPOTENT
        )
        return _text(data, "publicKey")

    async def signing_algorithms(self, key_id: str) -> tuple[SigningAlgorithm, ...]:
        """The signing algorithms a key supports (what ``sign()`` and ``verify()`` take)."""
        data = await self._client._request(
            "GET", self._path(key_id, "signing-algorithms"), mode=RetryMode.IDEMPOTENT
        )
        algorithms = unwrap(data, "signingAlgorithms")
        if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
            raise ResponseValidationError(
                "the server's `signingAlgorithms` is not a list of strings",
                errors=["$.signingAlgorithms"],
            )
        # Not checked against SigningAlgorithm: a scheme a newer server adds is still one
        # this key signs with, and sign() passes it through.
        return cast("tuple[SigningAlgorithm, ...]", tuple(algorithms))
