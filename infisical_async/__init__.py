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

if TYPE_CHECKING:
    from ._auth import (
        AuthStrategy as AuthStrategy,
    )
    from ._auth import (
        LoginApi as LoginApi,
    )
    from ._auth import (
        TokenAuth as TokenAuth,
    )
    from ._auth import (
        UniversalAuth as UniversalAuth,
    )
    from ._client import (
        AsyncInfisicalClient as AsyncInfisicalClient,
    )
    from ._keeper import (
        ErrorCallback as ErrorCallback,
    )
    from ._keeper import (
        HeldLease as HeldLease,
    )
    from ._keeper import (
        RotateCallback as RotateCallback,
    )
    from ._ttl import (
        TTLInput as TTLInput,
    )
    from ._types import (
        NOT_GIVEN as NOT_GIVEN,
    )
    from ._types import (
        NotGiven as NotGiven,
    )
    from ._types import (
        Timeout as Timeout,
    )
    from .auth_methods import (
        AwsIamAuth as AwsIamAuth,
    )
    from .auth_methods import (
        AzureAuth as AzureAuth,
    )
    from .auth_methods import (
        GcpIamAuth as GcpIamAuth,
    )
    from .auth_methods import (
        GcpIdTokenAuth as GcpIdTokenAuth,
    )
    from .auth_methods import (
        JwtAuth as JwtAuth,
    )
    from .auth_methods import (
        KubernetesAuth as KubernetesAuth,
    )
    from .auth_methods import (
        LdapAuth as LdapAuth,
    )
    from .auth_methods import (
        OidcAuth as OidcAuth,
    )
    from .auth_methods import (
        TokenSource as TokenSource,
    )
    from .errors import (
        APIConnectionError as APIConnectionError,
    )
    from .errors import (
        APIStatusError as APIStatusError,
    )
    from .errors import (
        APITimeoutError as APITimeoutError,
    )
    from .errors import (
        ApprovalRequiredError as ApprovalRequiredError,
    )
    from .errors import (
        AuthenticationError as AuthenticationError,
    )
    from .errors import (
        BadRequestError as BadRequestError,
    )
    from .errors import (
        ClientClosedError as ClientClosedError,
    )
    from .errors import (
        ClientForkedError as ClientForkedError,
    )
    from .errors import (
        CloudMetadataError as CloudMetadataError,
    )
    from .errors import (
        ConfigurationError as ConfigurationError,
    )
    from .errors import (
        ConflictError as ConflictError,
    )
    from .errors import (
        InfisicalError as InfisicalError,
    )
    from .errors import (
        InternalServerError as InternalServerError,
    )
    from .errors import (
        InvalidArgumentError as InvalidArgumentError,
    )
    from .errors import (
        LeaseRevocationError as LeaseRevocationError,
    )
    from .errors import (
        MissingArgumentError as MissingArgumentError,
    )
    from .errors import (
        NotAuthenticatedError as NotAuthenticatedError,
    )
    from .errors import (
        NotFoundError as NotFoundError,
    )
    from .errors import (
        PermissionDeniedError as PermissionDeniedError,
    )
    from .errors import (
        RateLimitError as RateLimitError,
    )
    from .errors import (
        ResponseValidationError as ResponseValidationError,
    )
    from .errors import (
        UnprocessableEntityError as UnprocessableEntityError,
    )
    from .models import (
        AccessToken as AccessToken,
    )
    from .models import (
        ApprovalRequest as ApprovalRequest,
    )
    from .models import (
        BatchUpdateMode as BatchUpdateMode,
    )
    from .models import (
        DynamicSecret as DynamicSecret,
    )
    from .models import (
        EncryptionAlgorithm as EncryptionAlgorithm,
    )
    from .models import (
        Environment as Environment,
    )
    from .models import (
        Folder as Folder,
    )
    from .models import (
        KeyUsage as KeyUsage,
    )
    from .models import (
        KmsKey as KmsKey,
    )
    from .models import (
        KmsKeyList as KmsKeyList,
    )
    from .models import (
        Lease as Lease,
    )
    from .models import (
        NewSecret as NewSecret,
    )
    from .models import (
        Project as Project,
    )
    from .models import (
        Secret as Secret,
    )
    from .models import (
        SecretImport as SecretImport,
    )
    from .models import (
        SecretList as SecretList,
    )
    from .models import (
        SecretMetadata as SecretMetadata,
    )
    from .models import (
        SecretType as SecretType,
    )
    from .models import (
        SecretUpdate as SecretUpdate,
    )
    from .models import (
        SigningAlgorithm as SigningAlgorithm,
    )
    from .models import (
        Tag as Tag,
    )
    from .providers import (
        DynamicSecretProvider as DynamicSecretProvider,
    )
    from .providers import (
        GenericProvider as GenericProvider,
    )
    from .providers import (
        RedisProvider as RedisProvider,
    )
    from .providers import (
        SqlDatabaseProvider as SqlDatabaseProvider,
    )

_EXPORTS: dict[str, str] = {
    "AuthStrategy": "._auth",
    "LoginApi": "._auth",
    "TokenAuth": "._auth",
    "UniversalAuth": "._auth",
    "AsyncInfisicalClient": "._client",
    "ErrorCallback": "._keeper",
    "HeldLease": "._keeper",
    "RotateCallback": "._keeper",
    "TTLInput": "._ttl",
    "NOT_GIVEN": "._types",
    "NotGiven": "._types",
    "Timeout": "._types",
    "AwsIamAuth": ".auth_methods",
    "AzureAuth": ".auth_methods",
    "GcpIamAuth": ".auth_methods",
    "GcpIdTokenAuth": ".auth_methods",
    "JwtAuth": ".auth_methods",
    "KubernetesAuth": ".auth_methods",
    "LdapAuth": ".auth_methods",
    "OidcAuth": ".auth_methods",
    "TokenSource": ".auth_methods",
    "APIConnectionError": ".errors",
    "APIStatusError": ".errors",
    "APITimeoutError": ".errors",
    "ApprovalRequiredError": ".errors",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "ClientClosedError": ".errors",
    "ClientForkedError": ".errors",
    "CloudMetadataError": ".errors",
    "ConfigurationError": ".errors",
    "ConflictError": ".errors",
    "InfisicalError": ".errors",
    "InternalServerError": ".errors",
    "InvalidArgumentError": ".errors",
    "LeaseRevocationError": ".errors",
    "MissingArgumentError": ".errors",
    "NotAuthenticatedError": ".errors",
    "NotFoundError": ".errors",
    "PermissionDeniedError": ".errors",
    "RateLimitError": ".errors",
    "ResponseValidationError": ".errors",
    "UnprocessableEntityError": ".errors",
    "AccessToken": ".models",
    "ApprovalRequest": ".models",
    "BatchUpdateMode": ".models",
    "DynamicSecret": ".models",
    "EncryptionAlgorithm": ".models",
    "Environment": ".models",
    "Folder": ".models",
    "KeyUsage": ".models",
    "KmsKey": ".models",
    "KmsKeyList": ".models",
    "Lease": ".models",
    "NewSecret": ".models",
    "Project": ".models",
    "Secret": ".models",
    "SecretImport": ".models",
    "SecretList": ".models",
    "SecretMetadata": ".models",
    "SecretType": ".models",
    "SecretUpdate": ".models",
    "SigningAlgorithm": ".models",
    "Tag": ".models",
    "DynamicSecretProvider": ".providers",
    "GenericProvider": ".providers",
    "RedisProvider": ".providers",
    "SqlDatabaseProvider": ".providers",
}
"""Each public name and the module that defines it."""

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
