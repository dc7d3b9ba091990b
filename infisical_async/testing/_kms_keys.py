"""KMS keys as the API shows them, and the cryptography behind them (AES-GCM, RSA, ECDSA).

Plain functions over the server's `Context`, callable without HTTP. ``cryptography`` is
imported when a key is used, so the server starts without it.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

from aiohttp import web

from ._context import Context
from ._state import KmsKey, iso
from ._wire import ApiError

__all__ = [
    "SIGNING_ALGORITHMS",
    "base64_check",
    "generate_material",
    "key_json",
    "key_or_404",
    "name_problem",
    "require_usage",
    "signature_scheme",
]

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HASHES = ("SHA_256", "SHA_384", "SHA_512")
SIGNING_ALGORITHMS = {
    "RSA_4096": [f"RSASSA_PSS_{h}" for h in _HASHES] + [f"RSASSA_PKCS1_V1_5_{h}" for h in _HASHES],
    "ECC_NIST_P256": [f"ECDSA_{h}" for h in _HASHES],
}
_MAX_DATA = 4096


def name_problem(value: str) -> str | None:
    if not (1 <= len(value) <= 32 and _NAME.match(value)):
        return "Name must be a valid slug of at most 32 characters"
    return None


def base64_check(field_name: str) -> Any:
    def check(value: str) -> str | None:
        try:
            decoded = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return f"{field_name} must be base64 encoded"
        if len(decoded) > _MAX_DATA:
            return "data cannot exceed 4096 bytes"
        return None

    return check


def _hash(name: str) -> Any:
    from cryptography.hazmat.primitives import hashes

    return {"SHA_256": hashes.SHA256(), "SHA_384": hashes.SHA384(), "SHA_512": hashes.SHA512()}[
        name
    ]


def signature_scheme(key: KmsKey, algorithm: str, is_digest: bool) -> tuple[Any, Any]:
    """(padding or ECDSA object, hash-or-prehashed) for a signing algorithm."""
    from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

    if algorithm not in SIGNING_ALGORITHMS[key.algorithm]:
        raise ApiError(
            400, f"Signing algorithm {algorithm} is not supported by this key", "BadRequest"
        )
    digest = _hash(algorithm[-7:])
    chosen = utils.Prehashed(digest) if is_digest else digest
    if algorithm.startswith("RSASSA_PSS"):
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=padding.PSS.DIGEST_LENGTH), chosen
    if algorithm.startswith("RSASSA_PKCS1"):
        return padding.PKCS1v15(), chosen
    return ec.ECDSA(chosen), None


def key_json(ctx: Context, key: KmsKey, *, listed: bool = False) -> dict[str, Any]:
    if ctx.legacy:
        return _legacy_key_json(ctx, key, listed=listed)
    return {
        "id": key.id,
        "name": key.name,
        "description": key.description,
        "isDisabled": key.is_disabled,
        "orgId": ctx.state.org_id,
        "projectId": key.project_id,
        "keyUsage": key.key_usage,
        "version": key.version,
        "encryptionAlgorithm": key.algorithm,
        "createdAt": iso(key.created_at),
        "updatedAt": iso(key.updated_at),
    }


def _legacy_key_json(ctx: Context, key: KmsKey, *, listed: bool) -> dict[str, Any]:
    """The October-2024 shape: no keyUsage; version and algorithm only when listed."""
    data: dict[str, Any] = {
        "id": key.id,
        "description": key.description,
        "isDisabled": key.is_disabled,
        "isReserved": False,
        "orgId": ctx.state.org_id,
        "name": key.name,
        "createdAt": iso(key.created_at),
        "updatedAt": iso(key.updated_at),
        "projectId": key.project_id,
        "slug": None,
    }
    if listed:
        data["version"] = key.version
        data["encryptionAlgorithm"] = key.algorithm
    return data


def key_or_404(ctx: Context, request: web.Request, *, usable: bool = False) -> KmsKey:
    """The key named in the route (a 404 if unknown; a 400 if disabled and ``usable``)."""
    key = ctx.state.kms_keys.get(request.match_info["keyId"])
    if key is None:
        raise ApiError(404, f"Key with ID {request.match_info['keyId']} not found", "NotFound")
    if usable and key.is_disabled:
        raise ApiError(400, "Key is disabled", "BadRequest")
    return key


def generate_material(usage: str, algorithm: str) -> Any:
    """New key material for a key of this usage and algorithm (a 422 for a mismatch)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if usage == "encrypt-decrypt":
        if algorithm not in ("aes-256-gcm", "aes-128-gcm"):
            raise ApiError(
                422,
                [
                    {
                        "code": "custom",
                        "path": ["encryptionAlgorithm"],
                        "message": "Invalid encryption algorithm for key usage",
                    }
                ],
                "ValidationFailure",
            )
        return os.urandom(32 if algorithm == "aes-256-gcm" else 16)
    if algorithm == "RSA_4096":
        return rsa.generate_private_key(public_exponent=65537, key_size=4096)
    if algorithm == "ECC_NIST_P256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ApiError(
        422,
        [
            {
                "code": "custom",
                "path": ["encryptionAlgorithm"],
                "message": "Invalid signing algorithm for key usage",
            }
        ],
        "ValidationFailure",
    )


def require_usage(key: KmsKey, wanted: str) -> None:
    if key.key_usage != wanted:
        raise ApiError(400, f"Key usage is {key.key_usage}, not {wanted}", "BadRequest")
