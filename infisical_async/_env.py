"""``from_env()``: client options from the documented ``INFISICAL_*`` variables."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ._auth import AuthStrategy, TokenAuth, UniversalAuth
from .auth_methods import (
    AwsIamAuth,
    AzureAuth,
    GcpIamAuth,
    GcpIdTokenAuth,
    JwtAuth,
    KubernetesAuth,
    LdapAuth,
    OidcAuth,
)
from .errors import ConfigurationError

__all__ = ["CREDENTIAL_VARIABLES", "ENV_VARIABLES", "auth_from_env", "options_from_env"]

CLIENT_ID = "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID"
CLIENT_SECRET = "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET"
TOKEN = "INFISICAL_TOKEN"
AUTH_METHOD = "INFISICAL_AUTH_METHOD"
IDENTITY_ID = "INFISICAL_MACHINE_IDENTITY_ID"
ORGANIZATION = "INFISICAL_ORGANIZATION_SLUG"

_SCOPE = {
    "project_id": "INFISICAL_PROJECT_ID",
    "project_slug": "INFISICAL_PROJECT_SLUG",
    "environment": "INFISICAL_ENVIRONMENT",
    "secret_path": "INFISICAL_SECRET_PATH",
}

ENV_VARIABLES: dict[str, str] = {
    "INFISICAL_SITE_URL": "server URL (or INFISICAL_API_URL, ending in /api)",
    AUTH_METHOD: "login method; default: universal-auth, or token with INFISICAL_TOKEN",
    CLIENT_ID: "Universal Auth client id",
    CLIENT_SECRET: "Universal Auth client secret",
    TOKEN: "a ready access token (token auth)",
    IDENTITY_ID: "machine identity id (every method but universal-auth and token)",
    ORGANIZATION: "sub-organization to log in to",
    "INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH": "kubernetes: token file",
    "INFISICAL_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH": "gcp-iam: service-account key file",
    "INFISICAL_AWS_REGION": "aws-iam: STS region (default: botocore's)",
    "INFISICAL_AZURE_RESOURCE": "azure: token resource",
    "INFISICAL_JWT": "oidc-auth, jwt-auth: the token itself",
    "INFISICAL_JWT_PATH": "oidc-auth, jwt-auth: a file holding it, re-read at every login",
    "INFISICAL_LDAP_USERNAME": "ldap-auth: user name",
    "INFISICAL_LDAP_PASSWORD": "ldap-auth: password",
    **{var: f"default {option}" for option, var in _SCOPE.items()},
}
"""Every variable ``from_env()`` reads, with what it is for."""


CREDENTIAL_VARIABLES = (
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN,
    "INFISICAL_JWT",
    "INFISICAL_LDAP_USERNAME",
    "INFISICAL_LDAP_PASSWORD",
)
"""What a program run with secrets should not inherit: the identity's own credentials."""


def _require(env: Mapping[str, str], method: str, *names: str) -> list[str]:
    missing = tuple(name for name in names if not env.get(name))
    if missing:
        raise ConfigurationError(
            f"{AUTH_METHOD}={method} needs {', '.join(missing)} (not set)", missing=missing
        )
    return [env[name] for name in names]


def _token_source(env: Mapping[str, str], method: str) -> str | Path:
    if env.get("INFISICAL_JWT_PATH"):
        return Path(env["INFISICAL_JWT_PATH"])
    if env.get("INFISICAL_JWT"):
        return env["INFISICAL_JWT"]
    raise ConfigurationError(
        f"{AUTH_METHOD}={method} needs INFISICAL_JWT or INFISICAL_JWT_PATH (neither is set)",
        missing=("INFISICAL_JWT", "INFISICAL_JWT_PATH"),
    )


def _identity_login(env: Mapping[str, str], method: str) -> AuthStrategy:
    (identity,) = _require(env, method, IDENTITY_ID)
    org = env.get(ORGANIZATION) or None
    if method == "kubernetes":
        path = env.get("INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH")
        if path:
            return KubernetesAuth(identity_id=identity, token_path=path, organization_slug=org)
        return KubernetesAuth(identity_id=identity, organization_slug=org)
    if method == "aws-iam":
        region = env.get("INFISICAL_AWS_REGION") or None
        return AwsIamAuth(identity_id=identity, region=region, organization_slug=org)
    if method == "gcp-id-token":
        return GcpIdTokenAuth(identity_id=identity, organization_slug=org)
    if method == "gcp-iam":
        (key_file,) = _require(env, method, "INFISICAL_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH")
        return GcpIamAuth(
            identity_id=identity, service_account_key=Path(key_file), organization_slug=org
        )
    if method == "azure":
        resource = env.get("INFISICAL_AZURE_RESOURCE")
        if resource:
            return AzureAuth(identity_id=identity, resource=resource, organization_slug=org)
        return AzureAuth(identity_id=identity, organization_slug=org)
    if method == "oidc-auth":
        return OidcAuth(
            identity_id=identity, token=_token_source(env, method), organization_slug=org
        )
    if method == "jwt-auth":
        return JwtAuth(
            identity_id=identity, token=_token_source(env, method), organization_slug=org
        )
    username, password = _require(env, method, "INFISICAL_LDAP_USERNAME", "INFISICAL_LDAP_PASSWORD")
    return LdapAuth(
        identity_id=identity, username=username, password=password, organization_slug=org
    )


def _universal(env: Mapping[str, str], method: str) -> AuthStrategy:
    client_id, client_secret = _require(env, method, CLIENT_ID, CLIENT_SECRET)
    return UniversalAuth(
        client_id=client_id,
        client_secret=client_secret,
        organization_slug=env.get(ORGANIZATION) or None,
    )


def _token(env: Mapping[str, str], method: str) -> TokenAuth:
    (token,) = _require(env, method, TOKEN)
    return TokenAuth(token=token)


_METHODS: dict[str, Callable[[Mapping[str, str], str], AuthStrategy | TokenAuth]] = {
    "universal-auth": _universal,
    "token": _token,
    **{
        name: _identity_login
        for name in (
            "kubernetes",
            "aws-iam",
            "gcp-id-token",
            "gcp-iam",
            "azure",
            "oidc-auth",
            "jwt-auth",
            "ldap-auth",
        )
    },
}
AUTH_METHODS = tuple(_METHODS)
"""The values ``INFISICAL_AUTH_METHOD`` accepts."""


def auth_from_env(env: Mapping[str, str] | None = None) -> AuthStrategy | TokenAuth:
    """The login ``INFISICAL_AUTH_METHOD`` (or, without it, the variables present) asks for.

    Raises:
        ConfigurationError: an unknown method, or variables the method needs are missing
            (``missing`` names them).
    """
    env = os.environ if env is None else env
    method = (env.get(AUTH_METHOD) or "").strip().lower()
    if method:
        if method not in _METHODS:
            raise ConfigurationError(
                f"{AUTH_METHOD}={method!r} is not a login method; use one of "
                + ", ".join(AUTH_METHODS)
            )
        return _METHODS[method](env, method)
    if env.get(CLIENT_ID) or env.get(CLIENT_SECRET):
        if not (env.get(CLIENT_ID) and env.get(CLIENT_SECRET)):
            absent = CLIENT_SECRET if env.get(CLIENT_ID) else CLIENT_ID
            raise ConfigurationError(
                f"{absent} is not set (the other half of Universal Auth is)", missing=(absent,)
            )
        return _universal(env, "universal-auth")
    if env.get(TOKEN):
        return TokenAuth(token=env[TOKEN])
    raise ConfigurationError(
        f"no Infisical credentials in the environment: set {CLIENT_ID} and {CLIENT_SECRET}, "
        f"or {TOKEN}, or {AUTH_METHOD} with what that method needs",
        missing=(CLIENT_ID, CLIENT_SECRET, TOKEN),
    )


def options_from_env(
    options: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Constructor options: the given ones, then what the ``INFISICAL_*`` variables say.

    An option given as ``None`` counts as not given. The site URL is read by the
    constructor itself (``INFISICAL_SITE_URL``, then ``INFISICAL_API_URL``).
    """
    env = os.environ if env is None else env
    given = {key: value for key, value in options.items() if value is not None}
    result: dict[str, Any] = {}
    if "auth" not in given:
        result["auth"] = auth_from_env(env)
    for option, variable in _SCOPE.items():
        if option not in given and env.get(variable):
            result[option] = env[variable]
    result.update(given)
    return result
