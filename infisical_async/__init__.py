"""infisical-async: an asyncio SDK for the Infisical secrets API.

>>> async with AsyncInfisicalClient(auth=UniversalAuth(client_id=..., client_secret=...),
...                                 project_id=..., environment="dev") as client:
...     secret = await client.secrets.get("DATABASE_URL")

The blocking twin of everything here is the ``infisical_sync`` package.
"""

from ._auth import AuthStrategy, TokenAuth, UniversalAuth
from ._client import AsyncInfisicalClient
from ._keeper import HeldLease
from ._logging import configure_from_env
from ._types import NOT_GIVEN, NotGiven, Timeout
from ._version import __version__
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
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ApprovalRequiredError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
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
    DynamicSecret,
    Environment,
    Folder,
    KmsKey,
    KmsKeyList,
    Lease,
    NewSecret,
    Project,
    Secret,
    SecretImport,
    SecretList,
    SecretMetadata,
    SecretUpdate,
    Tag,
)
from .providers import GenericProvider, RedisProvider, SqlDatabaseProvider

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
    "ClientClosedError",
    "CloudMetadataError",
    "ConfigurationError",
    "ConflictError",
    "DynamicSecret",
    "Environment",
    "Folder",
    "GcpIamAuth",
    "GcpIdTokenAuth",
    "GenericProvider",
    "HeldLease",
    "InfisicalError",
    "InternalServerError",
    "InvalidArgumentError",
    "JwtAuth",
    "KmsKey",
    "KmsKeyList",
    "KubernetesAuth",
    "LdapAuth",
    "Lease",
    "LeaseRevocationError",
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
    "Secret",
    "SecretImport",
    "SecretList",
    "SecretMetadata",
    "SecretUpdate",
    "SqlDatabaseProvider",
    "Tag",
    "Timeout",
    "TokenAuth",
    "UnprocessableEntityError",
    "UniversalAuth",
    "__version__",
]
