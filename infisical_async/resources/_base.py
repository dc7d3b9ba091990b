"""What every resource namespace shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._serde import structure
from .._validation import remember_accepted
from ..errors import ApprovalRequiredError, InvalidArgumentError, ResponseValidationError
from ..models import ApprovalRequest

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient

__all__ = ["AsyncResource", "segment", "unwrap"]


@remember_accepted(4096)
def segment(value: str, argument: str = "path segment") -> str:
    """Percent-quote one path segment of a route.

    ``.`` and ``..`` are refused: URL libraries resolve them, so they would send the request
    to another route (and that route's 404 would look like an old server).
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(argument, "must be a non-empty string")
    if value in (".", ".."):
        raise InvalidArgumentError(argument, f"must not be {value!r}")
    return quote(value, safe="")


def unwrap(data: Any, key: str) -> Any:
    """Return ``data[key]``; a change-approval answer raises ApprovalRequiredError instead."""
    if isinstance(data, dict):
        if key in data:
            return data[key]
        if "approval" in data:
            raise ApprovalRequiredError(structure(data["approval"], ApprovalRequest))
    raise ResponseValidationError(f"the response has no `{key}` field")


class AsyncResource:
    """A namespace of calls.

    Of its client view it uses only the public API and a small internal surface:
    ``_request(...)`` (one authenticated call under the view's deadline and retries),
    ``_deadline()``, ``_options`` (the view's ``CallOptions``) and ``_state`` (the
    ``ClientState`` every view shares: transport, tokens, cache, keepers, generations).
    """

    def __init__(self, client: AsyncInfisicalClient) -> None:
        self._client = client
        self._state = client._state
