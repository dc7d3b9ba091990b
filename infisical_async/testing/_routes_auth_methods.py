"""Logins other than Universal Auth: AWS IAM, Kubernetes, GCP, Azure, OIDC, JWT, LDAP.

The embedded server cannot ask AWS, Google, Azure or a Kubernetes API server, so each
method checks what it can on its own, against what the test configured through
``ServerControl.configure_*``: the request's shape, SigV4 signatures (with the configured
AWS secret key), RS256 signatures (with the configured public keys), audiences, and known
tokens or users.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ._context import Context, context_of
from ._routes_auth import token_response
from ._wire import ApiError, F, validate
from .jwt_keys import JwtRejected, verify_rs256

__all__ = ["add_auth_method_routes"]

_ORG = {"organizationSlug": F("str"), "subOrganizationName": F("str")}
_JWT_BODY = {"identityId": F("str", required=True), "jwt": F("str", required=True), **_ORG}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/,\s]*)/sts/aws4_request")
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([^,\s]+)")
_SIGNATURE = re.compile(r"Signature=([0-9a-f]+)")
_GCP_SA = re.compile(r"^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$")

_LABELS = {
    "aws": "AWS",
    "kubernetes": "Kubernetes",
    "gcp": "GCP",
    "azure": "Azure",
    "oidc": "OIDC",
    "jwt": "JWT",
    "ldap": "LDAP",
}


def _not_configured(method: str) -> ApiError:
    label = _LABELS[method]
    return ApiError(
        404,
        f"{label} auth method not found for identity, did you configure {label} auth?",
        "NotFound",
    )


def _denied(message: str) -> ApiError:
    return ApiError(401, message, "UnauthorizedError")


def _verify_jwt(token: str, keys: list[str], audience: str | None, label: str) -> dict[str, Any]:
    try:
        return verify_rs256(token, keys, audience=audience)
    except JwtRejected as exc:
        raise _denied(f"Access denied: {label} token rejected ({exc})") from None


def _verify_sigv4(
    headers: dict[str, str], body: str, region: str, secret_key: str, authorization: str
) -> bool:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed = _SIGNED_HEADERS.search(authorization)
    signature = _SIGNATURE.search(authorization)
    credential = _CREDENTIAL.search(authorization)
    date = next((v for k, v in headers.items() if k.lower() == "x-amz-date"), None)
    if not (signed and signature and credential and date):
        return False
    wanted = set(signed.group(1).split(";"))
    kept = {k: v for k, v in headers.items() if k.lower() in wanted}
    request = AWSRequest(
        method="POST", url=f"https://sts.{region}.amazonaws.com/", data=body, headers=kept
    )
    request.context["timestamp"] = date
    token = next((v for k, v in headers.items() if k.lower() == "x-amz-security-token"), None)
    signer = SigV4Auth(Credentials(credential.group(1), secret_key, token), "sts", region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    return bool(expected == signature.group(1))


def config_for(ctx: Context, method: str, identity_id: str) -> dict[str, Any]:
    """What the test configured for ``method`` (a 404 unless configured for this identity)."""
    state = ctx.state
    config = state.auth_methods.get(method)
    if config is None or identity_id != state.identity.id:
        raise _not_configured(method)
    return config


def issue(ctx: Context) -> web.Response:
    identity = ctx.state.identity
    record = ctx.state.issue_token(
        identity, ttl=identity.access_token_ttl, max_ttl=identity.access_token_max_ttl
    )
    return ctx.json(token_response(ctx, record, record.ttl))


TokenCheck = Callable[[dict[str, Any], str, str], None]
"""Judge a login token against a method's configuration (and the identity id); raise."""


def jwt_login(method: str, check: TokenCheck) -> Callable[[web.Request], Any]:
    """The handler of a login that posts ``{identityId, jwt}`` and is judged by ``check``."""

    async def handler(request: web.Request) -> web.Response:
        ctx = context_of(request)
        body = validate(await ctx.body(request), _JWT_BODY)
        config = config_for(ctx, method, body["identityId"])
        check(config, body["jwt"], body["identityId"])
        return issue(ctx)

    return handler


def kubernetes(config: dict[str, Any], token: str, _: str) -> None:
    if token not in config["tokens"]:
        raise _denied("Access denied: Kubernetes token review failed")


def gcp(config: dict[str, Any], token: str, identity_id: str) -> None:
    claims = _verify_jwt(token, config["keys"], identity_id, "GCP")
    if config["type"] == "iam":
        subject = str(claims.get("sub", ""))
        if not _GCP_SA.match(subject):
            raise _denied("Access denied: invalid GCP service account in token")
    else:
        subject = str(claims.get("email", ""))
        if not subject:
            raise _denied("Access denied: GCP ID token has no email")
    if not any(fnmatch.fnmatch(subject, p) for p in config["allowed_emails"]):
        raise _denied("Access denied: GCP service account not allowed")


def azure(config: dict[str, Any], token: str, _: str) -> None:
    _verify_jwt(token, config["keys"], config["resource"], "Azure")


def oidc(config: dict[str, Any], token: str, _: str) -> None:
    claims = _verify_jwt(token, config["keys"], config["audience"], "OIDC")
    if config["issuer"] is not None and claims.get("iss") != config["issuer"]:
        raise _denied("Access denied: OIDC token issuer mismatch")
    if config["subject"] is not None and not fnmatch.fnmatch(
        str(claims.get("sub", "")), config["subject"]
    ):
        raise _denied("Access denied: OIDC subject not allowed")


def jwt(config: dict[str, Any], token: str, _: str) -> None:
    _verify_jwt(token, config["keys"], config["audience"], "JWT")


def _identity_uuid(value: str) -> str | None:
    try:
        uuid.UUID(value)
    except ValueError:
        return "Identity ID must be a valid UUID"
    return None


def _present(message: str) -> Callable[[str], str | None]:
    return lambda value: None if value.strip() else message


_LDAP_BODY = {
    "identityId": F("str", required=True, check=_identity_uuid),
    "username": F("str", required=True, check=_present("Username is required")),
    "password": F("str", required=True, trim=False, check=_present("Password is required")),
    **_ORG,
}


async def ldap(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = validate(await ctx.body(request), _LDAP_BODY)
    config = config_for(ctx, "ldap", body["identityId"])
    if config["users"].get(body["username"]) != body["password"]:
        raise _denied("Invalid credentials")
    return issue(ctx)


_AWS_BODY = {
    "identityId": F("str", required=True),
    "iamHttpRequestMethod": F("str", default="POST"),
    "iamRequestBody": F("str", required=True),
    "iamRequestHeaders": F("str", required=True),
    **_ORG,
}


async def aws(request: web.Request) -> web.Response:
    ctx = context_of(request)
    body = validate(await ctx.body(request), _AWS_BODY)
    config = config_for(ctx, "aws", body["identityId"])
    try:
        iam_body = base64.b64decode(body["iamRequestBody"], validate=True).decode()
        headers = json.loads(base64.b64decode(body["iamRequestHeaders"], validate=True))
    except ValueError:
        raise ApiError(400, "Invalid AWS request encoding", "BadRequest") from None
    if not isinstance(headers, dict):
        raise ApiError(400, "Invalid AWS request headers", "BadRequest")
    headers = {str(k): str(v) for k, v in headers.items()}
    authorization = headers.get("Authorization") or headers.get("authorization") or ""
    credential = _CREDENTIAL.search(authorization)
    region = credential.group(3) if credential else ""
    if not (1 <= len(region) <= 20 and re.fullmatch(r"[a-z0-9-]+", region)):
        raise ApiError(400, "Invalid AWS region", "BadRequest")
    assert credential is not None
    principal = config["principals"].get(credential.group(1))
    if principal is None or not _verify_sigv4(
        headers, iam_body, region, principal["secret_key"], authorization
    ):
        # The real server forwards the request to STS, which refuses it.
        raise _denied("Access denied: AWS STS rejected the signed request")
    if (
        config["allowed_account_ids"]
        and principal["account_id"] not in config["allowed_account_ids"]
    ):
        raise _denied("Access denied: AWS account ID not allowed.")
    if not any(fnmatch.fnmatch(principal["arn"], p) for p in config["allowed_arns"]):
        raise _denied(
            f"Access denied: AWS principal ARN not allowed. [principal-arn={principal['arn']}]"
        )
    return issue(ctx)


def add_auth_method_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/auth/aws-auth/login", aws)
    r.add_post("/api/v1/auth/kubernetes-auth/login", jwt_login("kubernetes", kubernetes))
    r.add_post("/api/v1/auth/gcp-auth/login", jwt_login("gcp", gcp))
    r.add_post("/api/v1/auth/azure-auth/login", jwt_login("azure", azure))
    r.add_post("/api/v1/auth/oidc-auth/login", jwt_login("oidc", oidc))
    r.add_post("/api/v1/auth/jwt-auth/login", jwt_login("jwt", jwt))
    r.add_post("/api/v1/auth/ldap-auth/login", ldap)
