"""RS256 keys and tokens for testing JWT-based logins (OIDC, JWT, GCP, Azure).

>>> key = SigningKey.generate(kid="test")
>>> token = key.mint({"sub": "ci", "aud": "my-identity"})
>>> server.control.configure_jwt_auth(keys=[key.public_pem], audience="my-identity")

Needs PyJWT and ``cryptography`` (extra ``infisical-async[testing]``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["JwtRejected", "SigningKey", "verify_rs256"]


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
        import jwt

        now = int(time.time())
        payload = {"iat": now, "exp": now + lifetime, **claims}
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(payload, self.private_pem, algorithm="RS256", headers=headers)

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
    token: str,
    public_pems: Iterable[str],
    *,
    audience: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Return the claims of an RS256 token signed by one of the keys, else raise.

    ``now`` is the verifier's clock (seconds since the epoch; default: this machine's).
    """
    import jwt

    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise JwtRejected("malformed token") from None
    if header.get("alg") != "RS256":
        raise JwtRejected("unsupported token")
    for pem in public_pems:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                pem,
                algorithms=["RS256"],
                audience=audience,
                # Expiry is checked below against the verifier's clock.
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "verify_aud": audience is not None,
                },
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.InvalidAudienceError:
            raise JwtRejected("invalid audience") from None
        except jwt.InvalidTokenError:
            raise JwtRejected("malformed token") from None
        break
    else:
        raise JwtRejected("invalid signature")
    exp = claims.get("exp")
    clock = time.time() if now is None else now
    if isinstance(exp, (int, float)) and exp < clock:
        raise JwtRejected("token expired")
    return claims
