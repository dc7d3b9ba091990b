"""KMS key use: encrypt, decrypt, sign, verify, public key, signing algorithms."""

from __future__ import annotations

import base64
import os

from aiohttp import web

from ._context import context_of
from ._kms_keys import (
    SIGNING_ALGORITHMS,
    base64_check,
    key_or_404,
    require_usage,
    signature_scheme,
)
from ._wire import ApiError, F, validate

__all__ = ["decrypt", "encrypt", "public_key", "sign", "signing_algorithms", "verify"]


def _signing_body(extra: dict[str, F]) -> dict[str, F]:
    return {
        "signingAlgorithm": F("str", required=True),
        "isDigest": F("bool", default=False),
        "data": F("str", required=True, check=base64_check("data")),
        **extra,
    }


async def encrypt(request: web.Request) -> web.Response:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request, usable=True)
    require_usage(key, "encrypt-decrypt")
    body = validate(
        await ctx.body(request),
        {"plaintext": F("str", required=True, trim=False, check=base64_check("plaintext"))},
    )
    nonce = os.urandom(12)
    sealed = AESGCM(key.material).encrypt(nonce, base64.b64decode(body["plaintext"]), None)
    return ctx.json({"ciphertext": base64.b64encode(nonce + sealed).decode()})


async def decrypt(request: web.Request) -> web.Response:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request, usable=True)
    require_usage(key, "encrypt-decrypt")
    body = validate(
        await ctx.body(request),
        {"ciphertext": F("str", required=True, check=base64_check("ciphertext"))},
    )
    raw = base64.b64decode(body["ciphertext"])
    try:
        plain = AESGCM(key.material).decrypt(raw[:12], raw[12:], None)
    except (InvalidTag, ValueError):
        raise ApiError(400, "Failed to decrypt data", "CryptographyError") from None
    return ctx.json({"plaintext": base64.b64encode(plain).decode()})


async def sign(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request, usable=True)
    require_usage(key, "sign-verify")
    body = validate(await ctx.body(request), _signing_body({}))
    scheme, digest = signature_scheme(key, body["signingAlgorithm"], body["isDigest"])
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

    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request, usable=True)
    require_usage(key, "sign-verify")
    body = validate(
        await ctx.body(request),
        _signing_body({"signature": F("str", required=True, check=base64_check("signature"))}),
    )
    scheme, digest = signature_scheme(key, body["signingAlgorithm"], body["isDigest"])
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

    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request)
    require_usage(key, "sign-verify")
    der = key.material.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return ctx.json({"publicKey": base64.b64encode(der).decode()})


async def signing_algorithms(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request)
    require_usage(key, "sign-verify")
    return ctx.json({"signingAlgorithms": SIGNING_ALGORITHMS[key.algorithm]})
