"""What every resource namespace shares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .._serde import structure
from ..errors import ApprovalRequiredError, ResponseValidationError
from ..models import ApprovalRequest

if TYPE_CHECKING:
    from .._client import AsyncInfisicalClient

__all__ = ["AsyncResource", "segment", "unwrap"]


def segment(value: str) -> str:
    """Percent-quote one path segment."""
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
    def __init__(self, client: AsyncInfisicalClient) -> None:
        self._client = client
