"""infisical-async: an asyncio SDK for the Infisical secrets API.

>>> async with AsyncInfisicalClient(auth=UniversalAuth(client_id=..., client_secret=...),
...                                 project_id=..., environment="dev") as client:
...     secret = await client.secrets.get("DATABASE_URL")

The blocking twin of everything here is the ``infisical_sync`` package.

Names are imported on first use: ``import infisical_async`` alone loads almost nothing, so
the pytest plugin, the CLI's help and programs that only need an exception class start
fast; ``from infisical_async import AsyncInfisicalClient`` loads what the client needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._logging import configure_from_env
from ._version import __version__ as __version__

if TYPE_CHECKING:  # what type checkers and IDEs read; at run time, __getattr__ below
    from ._auth import AuthStrategy, LoginApi, TokenAuth, UniversalAuth
    from ._client import AsyncInfisicalClient
    from ._keeper import ErrorCallback, HeldLease, RotateCallback
    from ._ttl import TTLInput
    from ._types import NOT_GIVEN, NotGiven, Timeout
    from ._watch import SecretChange, SecretEvent, WatchItem, WatchResync
    from .auth_methods import (
        AwsIamAuth,
        AzureAuth,
        GcpIamAuth,
        GcpIdTokenAuth,
        JwtAuth,
        KubernetesAuth,
        LdapAuth,
        OidcAuth,
        TokenSource,
    )
    from .errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        ApprovalRequiredError,
        AuthenticationError,
        BadRequestError,
        ClientClosedError,
        ClientForkedError,
        CloudMetadataError,
        ConfigurationError,
        ConflictError,
        InfisicalError,
        InternalServerError,
        InvalidArgumentError,
        LeaseRevocationError,
        MissingArgumentError,
        NotAuthenticatedError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ResponseValidationError,
        UnprocessableEntityError,
    )
    from .models import (
        AccessToken,
        ApprovalRequest,
        BatchUpdateMode,
        DynamicSecret,
        EncryptionAlgorithm,
        Environment,
        Folder,
        KeyUsage,
        KmsKey,
        KmsKeyList,
        Lease,
        NewSecret,
        Project,
        Secret,
        SecretImport,
        SecretList,
        SecretMetadata,
        SecretType,
        SecretUpdate,
        SigningAlgorithm,
        Tag,
    )
    from .providers import (
        DynamicSecretProvider,
        GenericProvider,
        RedisProvider,
        SqlDatabaseProvider,
    )

_MODULES: dict[str, tuple[str, ...]] = {
    "._auth": (
        "AuthStrategy",
        "LoginApi",
        "TokenAuth",
        "UniversalAuth",
    ),
    "._client": ("AsyncInfisicalClient",),
    "._keeper": (
        "ErrorCallback",
        "HeldLease",
        "RotateCallback",
    ),
    "._ttl": ("TTLInput",),
    "._types": (
        "NOT_GIVEN",
        "NotGiven",
        "Timeout",
    ),
    "._watch": (
        "SecretChange",
        "SecretEvent",
        "WatchItem",
        "WatchResync",
    ),
    ".auth_methods": (
        "AwsIamAuth",
        "AzureAuth",
        "GcpIamAuth",
        "GcpIdTokenAuth",
        "JwtAuth",
        "KubernetesAuth",
        "LdapAuth",
        "OidcAuth",
        "TokenSource",
    ),
    ".errors": (
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "ApprovalRequiredError",
        "AuthenticationError",
        "BadRequestError",
        "ClientClosedError",
        "ClientForkedError",
        "CloudMetadataError",
        "ConfigurationError",
        "ConflictError",
        "InfisicalError",
        "InternalServerError",
        "InvalidArgumentError",
        "LeaseRevocationError",
        "MissingArgumentError",
        "NotAuthenticatedError",
        "NotFoundError",
        "PermissionDeniedError",
        "RateLimitError",
        "ResponseValidationError",
        "UnprocessableEntityError",
    ),
    ".models": (
        "AccessToken",
        "ApprovalRequest",
        "BatchUpdateMode",
        "DynamicSecret",
        "EncryptionAlgorithm",
        "Environment",
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
    ),
    ".providers": (
        "DynamicSecretProvider",
        "GenericProvider",
        "RedisProvider",
        "SqlDatabaseProvider",
    ),
}
"""Each module and the public names it defines."""
_EXPORTS = {name: module for module, names in _MODULES.items() for name in names}

configure_from_env()

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "ApprovalRequest",
    "ApprovalRequiredError",
    "AsyncInfisicalClient",
    "AuthStrategy",
    "AuthenticationError",
    "AwsIamAuth",
    "AzureAuth",
    "BadRequestError",
    "BatchUpdateMode",
    "ClientClosedError",
    "ClientForkedError",
    "CloudMetadataError",
    "ConfigurationError",
    "ConflictError",
    "DynamicSecret",
    "DynamicSecretProvider",
    "EncryptionAlgorithm",
    "Environment",
    "ErrorCallback",
    "Folder",
    "GcpIamAuth",
    "GcpIdTokenAuth",
    "GenericProvider",
    "HeldLease",
    "InfisicalError",
    "InternalServerError",
    "InvalidArgumentError",
    "JwtAuth",
    "KeyUsage",
    "KmsKey",
    "KmsKeyList",
    "KubernetesAuth",
    "LdapAuth",
    "Lease",
    "LeaseRevocationError",
    "LoginApi",
    "MissingArgumentError",
    "NewSecret",
    "NotAuthenticatedError",
    "NotFoundError",
    "NotGiven",
    "OidcAuth",
    "PermissionDeniedError",
    "Project",
    "RateLimitError",
    "RedisProvider",
    "ResponseValidationError",
    "RotateCallback",
    "Secret",
    "SecretChange",
    "SecretEvent",
    "SecretImport",
    "SecretList",
    "SecretMetadata",
    "SecretType",
    "SecretUpdate",
    "SigningAlgorithm",
    "SqlDatabaseProvider",
    "TTLInput",
    "Tag",
    "Timeout",
    "TokenAuth",
    "TokenSource",
    "UniversalAuth",
    "UnprocessableEntityError",
    "WatchItem",
    "WatchResync",
    "__version__",
]
"""Kept in step with ``_EXPORTS`` (a test checks it); a literal, for type checkers."""


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return __all__
