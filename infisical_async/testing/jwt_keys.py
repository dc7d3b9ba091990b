"""RS256 keys and tokens for testing JWT-based logins (OIDC, JWT, GCP, Azure).

>>> key = SigningKey.generate(kid="test")
>>> token = key.mint({"sub": "ci", "aud": "my-identity"})
>>> server.control.configure_jwt_auth(keys=[key.public_pem], audience="my-identity")

Needs ``cryptography`` (extra ``infisical-async[testing]``).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["JwtRejected", "SigningKey", "verify_rs256"]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.frozen
class SigningKey:
    """An RSA key pair with a key id, for minting test tokens."""

    private_pem: str = attrs.field(repr=False)
    public_pem: str
    kid: str | None = None

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        return cls(private, public, kid)

    def mint(self, claims: Mapping[str, Any], *, lifetime: int = 600) -> str:
        """An RS256 JWT with ``claims`` (``iat``/``exp`` added unless given)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa

        now = int(time.time())
        payload = {"iat": now, "exp": now + lifetime, **claims}
        header: dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
        if self.kid:
            header["kid"] = self.kid
        signing_input = (
            _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(payload).encode())
        )
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + _b64url(signature)

    def service_account_key(self, email: str) -> dict[str, str]:
        """A GCP service-account key file's JSON for this key pair."""
        return {
            "type": "service_account",
            "client_email": email,
            "private_key_id": self.kid or "key",
            "private_key": self.private_pem,
        }


class JwtRejected(Exception):
    """The token is malformed, badly signed, expired, or for another audience."""


def verify_rs256(
    token: str, public_pems: Iterable[str], *, audience: str | None = None
) -> dict[str, Any]:
    """Return the claims of an RS256 token signed by one of the keys, else raise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    parts = token.split(".")
    if len(parts) != 3:
        raise JwtRejected("malformed token")
    try:
        header = json.loads(_unb64url(parts[0]))
        claims = json.loads(_unb64url(parts[1]))
        signature = _unb64url(parts[2])
    except ValueError:
        raise JwtRejected("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
        raise JwtRejected("unsupported token")
    signing_input = f"{parts[0]}.{parts[1]}".encode()
    for pem in public_pems:
        key = serialization.load_pem_public_key(pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            continue
        try:
            key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        break
    else:
        raise JwtRejected("invalid signature")
    if isinstance(claims.get("exp"), (int, float)) and claims["exp"] < time.time():
        raise JwtRejected("token expired")
    if audience is not None:
        aud = claims.get("aud")
        if not (aud == audience or (isinstance(aud, list) and audience in aud)):
            raise JwtRejected("invalid audience")
    return claims
