"""The client's namespaces (``client.secrets``, ``client.dynamic_secrets.leases``, ...)."""

from .auth import AsyncAuth, AsyncUniversalAuthLogin
from .dynamic_secrets import AsyncDynamicSecrets
from .folders import AsyncFolders
from .kms import AsyncKms, AsyncKmsKeys
from .leases import AsyncLeases
from .projects import AsyncProjects
from .secrets import AsyncSecrets

__all__ = [
    "AsyncAuth",
    "AsyncDynamicSecrets",
    "AsyncFolders",
    "AsyncKms",
    "AsyncKmsKeys",
    "AsyncLeases",
    "AsyncProjects",
    "AsyncSecrets",
    "AsyncUniversalAuthLogin",
]
