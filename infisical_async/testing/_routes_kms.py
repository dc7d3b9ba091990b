"""KMS keys with real cryptography: AES-GCM encryption, RSA and ECDSA signatures."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from ._context import Context
from ._state import iso, new_id, now_utc
from ._wire import ApiError, F, validate

__all__ = ["add_kms_routes"]

_NAME = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_HASHES = ("SHA_256", "SHA_384", "SHA_512")
SIGNING_ALGORITHMS = {
    "RSA_4096": [f"RSASSA_PSS_{h}" for h in _HASHES] + [f"RSASSA_PKCS1_V1_5_{h}" for h in _HASHES],
    "ECC_NIST_P256": [f"ECDSA_{h}" for h in _HASHES],
}
_MAX_DATA = 4096


@dataclass
class KmsKey:
    id: str
    name: str
    project_id: str
    key_usage: str
    algorithm: str
    material: Any
    description: str | None = None
    is_disabled: bool = False
    version: int = 1
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)


def _name_check(value: str) -> str | None:
    if not (1 <= len(value) <= 32 and _NAME.match(value)):
        return "Name must be a valid slug of at most 32 characters"
    return None


def _b64_check(field_name: str) -> Any:
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


def _signature_scheme(key: KmsKey, algorithm: str, is_digest: bool) -> tuple[Any, Any]:
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


def add_kms_routes(app: web.Application, ctx: Context) -> None:
    state = ctx.state
    keys: dict[str, KmsKey] = {}

    def key_json(key: KmsKey, *, listed: bool = False) -> dict[str, Any]:
        if ctx.legacy:
            return legacy_key_json(key, listed=listed)
        return {
            "id": key.id,
            "name": key.name,
            "description": key.description,
            "isDisabled": key.is_disabled,
            "orgId": state.org_id,
            "projectId": key.project_id,
            "keyUsage": key.key_usage,
            "version": key.version,
            "encryptionAlgorithm": key.algorithm,
            "createdAt": iso(key.created_at),
            "updatedAt": iso(key.updated_at),
        }

    def legacy_key_json(key: KmsKey, *, listed: bool) -> dict[str, Any]:
        """The October-2024 shape: no keyUsage; version and algorithm only when listed."""
        data: dict[str, Any] = {
            "id": key.id,
            "description": key.description,
            "isDisabled": key.is_disabled,
            "isReserved": False,
            "orgId": state.org_id,
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

    def key_or_404(request: web.Request, *, usable: bool = False) -> KmsKey:
        key = keys.get(request.match_info["keyId"])
        if key is None:
            raise ApiError(404, f"Key with ID {request.match_info['keyId']} not found", "NotFound")
        if usable and key.is_disabled:
            raise ApiError(400, "Key is disabled", "BadRequest")
        return key

    def generate(usage: str, algorithm: str) -> Any:
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

    create_fields: dict[str, F] = (
        {  # the 2024 server knew only symmetric keys
            "encryptionAlgorithm": F(
                "str", default="aes-256-gcm", choices=("aes-256-gcm", "aes-128-gcm")
            )
        }
        if ctx.legacy
        else {
            "keyUsage": F(
                "str", default="encrypt-decrypt", choices=("encrypt-decrypt", "sign-verify")
            ),
            "encryptionAlgorithm": F("str", default="aes-256-gcm"),
        }
    )

    async def create(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(
            await ctx.body(request),
            {
                "projectId": F("str", required=True),
                "name": F("str", required=True, check=_name_check),
                "description": F("str", max_len=500),
                **create_fields,
            },
        )
        body.setdefault("keyUsage", "encrypt-decrypt")
        ctx.check_project_id(body["projectId"])
        if any(k.name == body["name"] and k.project_id == body["projectId"] for k in keys.values()):
            raise ApiError(400, "A KMS key with this name already exists", "BadRequest")
        material = generate(body["keyUsage"], body["encryptionAlgorithm"])
        key = KmsKey(
            id=new_id(),
            name=body["name"],
            project_id=body["projectId"],
            key_usage=body["keyUsage"],
            algorithm=body["encryptionAlgorithm"],
            material=material,
            description=body.get("description"),
        )
        keys[key.id] = key
        return ctx.json({"key": key_json(key)})

    async def list_keys(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(
            request.query,
            {
                "projectId": F("str", required=True),
                "offset": F("int", default=0),
                "limit": F("int", default=100),
                "orderBy": F("str", default="name"),
                "orderDirection": F("str", default="asc", choices=("asc", "desc")),
                "search": F("str"),
            },
            query=True,
        )
        ctx.check_project_id(q["projectId"])
        if not 1 <= q["limit"] <= 100:
            raise ApiError(
                422,
                [
                    {
                        "code": "too_big",
                        "path": ["limit"],
                        "message": "Number must be between 1 and 100",
                    }
                ],
                "ValidationFailure",
            )
        found = [
            k
            for k in keys.values()
            if k.project_id == q["projectId"] and (not q.get("search") or q["search"] in k.name)
        ]
        found.sort(key=lambda k: k.name, reverse=q["orderDirection"] == "desc")
        page = found[q["offset"] : q["offset"] + q["limit"]]
        return ctx.json(
            {"keys": [key_json(k, listed=True) for k in page], "totalCount": len(found)}
        )

    async def get_key(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        return ctx.json({"key": key_json(key_or_404(request))})

    async def get_by_name(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, {"projectId": F("str", required=True)}, query=True)
        name = request.match_info["keyName"]
        key = next(
            (k for k in keys.values() if k.name == name and k.project_id == q["projectId"]), None
        )
        if key is None:
            raise ApiError(404, f"Key with name {name} not found", "NotFound")
        return ctx.json({"key": key_json(key)})

    async def update(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        key = key_or_404(request)
        body = validate(
            await ctx.body(request),
            {
                "name": F("str", check=_name_check),
                "isDisabled": F("bool"),
                "description": F("str", max_len=500),
            },
        )
        if body.get("name"):
            key.name = body["name"]
        if body.get("isDisabled") is not None:
            key.is_disabled = body["isDisabled"]
        if body.get("description") is not None:
            key.description = body["description"]
        key.updated_at = now_utc()
        return ctx.json({"key": key_json(key)})

    async def delete(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        key = key_or_404(request)
        del keys[key.id]
        return ctx.json({"key": key_json(key)})

    def usage(key: KmsKey, wanted: str) -> None:
        if key.key_usage != wanted:
            raise ApiError(400, f"Key usage is {key.key_usage}, not {wanted}", "BadRequest")

    async def encrypt(request: web.Request) -> web.Response:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ctx.authenticate(request)
        key = key_or_404(request, usable=True)
        usage(key, "encrypt-decrypt")
        body = validate(
            await ctx.body(request),
            {"plaintext": F("str", required=True, trim=False, check=_b64_check("plaintext"))},
        )
        nonce = os.urandom(12)
        sealed = AESGCM(key.material).encrypt(nonce, base64.b64decode(body["plaintext"]), None)
        return ctx.json({"ciphertext": base64.b64encode(nonce + sealed).decode()})

    async def decrypt(request: web.Request) -> web.Response:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        ctx.authenticate(request)
        key = key_or_404(request, usable=True)
        usage(key, "encrypt-decrypt")
        body = validate(
            await ctx.body(request),
            {"ciphertext": F("str", required=True, check=_b64_check("ciphertext"))},
        )
        raw = base64.b64decode(body["ciphertext"])
        try:
            plain = AESGCM(key.material).decrypt(raw[:12], raw[12:], None)
        except (InvalidTag, ValueError):
            raise ApiError(400, "Failed to decrypt data", "CryptographyError") from None
        return ctx.json({"plaintext": base64.b64encode(plain).decode()})

    def signing_body(extra: dict[str, F]) -> dict[str, F]:
        return {
            "signingAlgorithm": F("str", required=True),
            "isDigest": F("bool", default=False),
            "data": F("str", required=True, check=_b64_check("data")),
            **extra,
        }

    async def sign(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        key = key_or_404(request, usable=True)
        usage(key, "sign-verify")
        body = validate(await ctx.body(request), signing_body({}))
        scheme, digest = _signature_scheme(key, body["signingAlgorithm"], body["isDigest"])
        data = base64.b64decode(body["data"])
        signature = (
            key.material.sign(data, scheme, digest)
            if digest is not None
            else key.material.sign(data, scheme)
        )
        return ctx.json(
            {
                "signature": base64.b64encode(signature).decode(),
                "keyId": key.id,
                "signingAlgorithm": body["signingAlgorithm"],
            }
        )

    async def verify(request: web.Request) -> web.Response:
        from cryptography.exceptions import InvalidSignature

        ctx.authenticate(request)
        key = key_or_404(request, usable=True)
        usage(key, "sign-verify")
        body = validate(
            await ctx.body(request),
            signing_body({"signature": F("str", required=True, check=_b64_check("signature"))}),
        )
        scheme, digest = _signature_scheme(key, body["signingAlgorithm"], body["isDigest"])
        public = key.material.public_key()
        args = (base64.b64decode(body["signature"]), base64.b64decode(body["data"]), scheme)
        try:
            public.verify(*args, digest) if digest is not None else public.verify(*args)
            valid = True
        except InvalidSignature:
            valid = False
        return ctx.json(
            {"signatureValid": valid, "keyId": key.id, "signingAlgorithm": body["signingAlgorithm"]}
        )

    async def public_key(request: web.Request) -> web.Response:
        from cryptography.hazmat.primitives import serialization

        ctx.authenticate(request)
        key = key_or_404(request)
        usage(key, "sign-verify")
        der = key.material.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return ctx.json({"publicKey": base64.b64encode(der).decode()})

    async def signing_algorithms(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        key = key_or_404(request)
        usage(key, "sign-verify")
        return ctx.json({"signingAlgorithms": SIGNING_ALGORITHMS[key.algorithm]})

    base = "/api/v1/kms/keys"

    async def wrong_project_type(request: web.Request) -> web.Response:
        # June 2025: KMS lives in projects of type `kms`; the embedded project is a
        # secret manager, as the recorded server's was.
        ctx.authenticate(request)
        raise ApiError(
            400,
            "The project is of type secret-manager. Operations of type kms are not allowed",
            "BadRequest",
        )

    routes: list[tuple[str, str, Any]] = [
        ("POST", base, create),
        ("GET", base, list_keys),
        ("PATCH", base + "/{keyId}", update),
        ("DELETE", base + "/{keyId}", delete),
        ("POST", base + "/{keyId}/encrypt", encrypt),
        ("POST", base + "/{keyId}/decrypt", decrypt),
    ]
    if not ctx.legacy:  # the October-2024 server had only the routes above
        routes += [
            ("GET", base + "/key-name/{keyName}", get_by_name),
            ("GET", base + "/{keyId}", get_key),
            ("POST", base + "/{keyId}/sign", sign),
            ("POST", base + "/{keyId}/verify", verify),
            ("GET", base + "/{keyId}/public-key", public_key),
            ("GET", base + "/{keyId}/signing-algorithms", signing_algorithms),
        ]
    for method, path, handler in routes:
        app.router.add_route(
            method, path, wrong_project_type if ctx.config.compat == "2025" else handler
        )
