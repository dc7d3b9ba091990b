"""The exceptions infisical-async raises.

Every error the SDK raises derives from `InfisicalError`::

    InfisicalError
    ├── InvalidArgumentError (also ValueError)    bad caller input; names the argument
    │   └── MissingArgumentError                  required, and no client default either
    ├── ConfigurationError                        from_env(): variables missing
    ├── NotAuthenticatedError                     no credentials and no access token
    ├── CloudMetadataError                        a cloud metadata service is unreachable
    ├── ClientClosedError                         the client was closed
    ├── ClientForkedError                         the client was made before a fork
    ├── APIConnectionError                        the request did not get an HTTP answer
    │   └── APITimeoutError
    ├── ResponseValidationError                   the server answered something unparseable
    ├── APIStatusError                            the server answered an error status
    │   ├── BadRequestError 400
    │   ├── AuthenticationError 401 (and 403 TokenError: the token expired or is malformed)
    │   ├── PermissionDeniedError 403
    │   ├── NotFoundError 404
    │   ├── ConflictError 409
    │   ├── UnprocessableEntityError 422 (and the old servers' 401 ValidationFailure)
    │   ├── RateLimitError 429
    │   └── InternalServerError >= 500
    ├── ApprovalRequiredError                     a change-approval policy held the write back
    └── LeaseRevocationError                      the provider failed to revoke a lease

Messages never contain secret values, tokens or request bodies: only the status, the
server's ``message``/``error`` and the request id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import ApprovalRequest, Lease

__all__ = [
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
]


class InfisicalError(Exception):
    """Base class of every error raised by infisical-async."""


class InvalidArgumentError(InfisicalError, ValueError):
    """An argument is invalid; raised before any request is sent."""

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        """The name of the offending argument."""
        super().__init__(f"invalid argument `{argument}`: {problem}")


class MissingArgumentError(InvalidArgumentError):
    """A required argument was given neither to the call nor as a client default."""

    def __init__(self, argument: str) -> None:
        super().__init__(
            argument, "a value is required (pass it to the call or set it on the client)"
        )


class ConfigurationError(InfisicalError):
    """The client cannot be configured from the environment."""

    def __init__(self, message: str, *, missing: tuple[str, ...] = ()) -> None:
        self.missing = missing
        """Names of the environment variables that are missing."""
        super().__init__(message)


class NotAuthenticatedError(InfisicalError):
    """A request needs an access token but the client has no way to get one."""


class CloudMetadataError(InfisicalError):
    """A cloud metadata service (GCP, Azure) could not be reached or gave no token."""


class ClientClosedError(InfisicalError):
    """The client was used after it was closed."""


class ClientForkedError(InfisicalError):
    """The client was used in a process forked after it was made (its connections and
    event loop belong to the parent): make a new client in the child."""


class APIConnectionError(InfisicalError):
    """The request did not get an HTTP response (DNS, refused, reset, TLS...)."""

    def __init__(self, message: str, *, method: str, path: str, request_sent: bool = True) -> None:
        self.method = method
        self.path = path
        self.request_sent = request_sent
        """False when the request provably never left (the connection could not be made)."""
        super().__init__(f"{message} ({method} {path})")


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseValidationError(InfisicalError):
    """The server's response could not be parsed into the expected shape.

    ``errors`` lists what was wrong as paths (``$.secret.version``), never values.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: list[str] | None = None,
        status_code: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.errors = errors or []
        self.status_code = status_code
        self.method = method
        self.path = path
        details = f": {'; '.join(self.errors[:5])}" if self.errors else ""
        where = f" ({method} {path})" if method and path else ""
        super().__init__(f"{message}{details}{where}")


class APIStatusError(InfisicalError):
    """The server answered with an error status."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        error: str | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        details: Any = None,
        issues: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status_code = status_code
        """HTTP status code."""
        self.message = message
        """The server's ``message`` (for validation errors: the issues joined)."""
        self.error = error
        """The server's ``error`` name, such as ``NotFound`` or ``TokenError``."""
        self.request_id = request_id
        """The server's request id (``reqId`` or the ``x-request-id`` header)."""
        self.method = method
        self.path = path
        self.details = details
        self.issues = issues or []
        """Validation issues (``{"path": [...], "message": ...}``) for 400/422 answers."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait (429/503), if it said."""
        super().__init__(status_code, message)

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method and self.path else ""
        error = f" {self.error}:" if self.error else ""
        return f"{self.status_code}{error} {self.message}{where} (request_id={self.request_id})"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.status_code}, {self.message!r}, "
            f"error={self.error!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the server refused the request's content."""


class AuthenticationError(APIStatusError):
    """401, or 403 ``TokenError``: credentials are wrong or the token is expired/revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the identity may not do this."""


class NotFoundError(APIStatusError):
    """404: the secret, folder, environment, lease... does not exist."""


class ConflictError(APIStatusError):
    """409."""


class UnprocessableEntityError(APIStatusError):
    """422 (or an old server's 401 ``ValidationFailure``): request validation failed."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says for how long to back off."""


class InternalServerError(APIStatusError):
    """5xx."""


class ApprovalRequiredError(InfisicalError):
    """A change-approval policy covers the path: the write is pending, not applied."""

    def __init__(self, approval: ApprovalRequest) -> None:
        self.approval = approval
        """The approval request the server opened."""
        super().__init__(
            f"the change needs approval before it is applied (approval request {approval.id})"
        )


class LeaseRevocationError(InfisicalError):
    """The server kept a lease because its provider failed to revoke the credentials."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        """The lease as the server returned it (``status`` says what failed)."""
        super().__init__(
            f"lease {lease.id} was not revoked: {lease.status}"
            + (f" ({lease.status_details})" if lease.status_details else "")
            + "; pass force=True to delete it regardless"
        )


STATUS_TO_ERROR: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}
