"""Checks on caller input, run before any request is sent."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .errors import InvalidArgumentError, MissingArgumentError

__all__ = [
    "flag",
    "pick",
    "remember_accepted",
    "require_name",
    "require_path",
    "require_route",
    "require_str",
]

T = TypeVar("T")
C = TypeVar("C", bound=Callable[..., str])


def pick(value: T | None, default: T | None, argument: str) -> T:
    """The call's value, else the client default, else a MissingArgumentError naming it."""
    if value is not None:
        return value
    if default is not None:
        return default
    raise MissingArgumentError(argument)


def require_str(value: Any, argument: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(argument, f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgumentError(argument, "must be a non-empty string")
    return value


def require_name(value: Any, argument: str) -> str:
    """A secret or resource name: non-empty, and no ``/`` or ``:`` (the server refuses them)."""
    name = require_str(value, argument).strip()
    if "/" in name or ":" in name:
        raise InvalidArgumentError(argument, "must not contain '/' or ':'")
    if name in (".", ".."):
        raise InvalidArgumentError(argument, f"must not be {name!r}")
    return name


_MAX_REMEMBERED_LENGTH = 256


def remember_accepted(limit: int) -> Callable[[C], C]:
    """Memoise a check of ``(value, argument, ...)`` by exact ``str`` value: most calls
    repeat a handful of paths and names. Refused values raise, so are never kept; at most
    ``limit`` values of up to 256 characters are kept, and a full memo starts over (one-off
    values, such as lease ids, must not crowd out the ones in use)."""

    def wrap(check: C) -> C:
        memo: dict[str, str] = {}

        @functools.wraps(check)
        def checked(value: Any, *rest: Any, **named: Any) -> str:
            # type(), not __class__: a str subclass may claim to be str and be another value.
            if type(value) is str and (known := memo.get(value)) is not None:
                return known
            result: str = check(value, *rest, **named)
            if type(value) is str and len(value) <= _MAX_REMEMBERED_LENGTH:
                if len(memo) >= limit:
                    memo.clear()
                memo[value] = result
            return result

        return cast("C", checked)

    return wrap


@remember_accepted(1024)
def require_path(value: Any, argument: str) -> str:
    """A folder path such as ``/`` or ``/app/db``; normalised as the server does."""
    path = require_str(value, argument).strip()
    if not path.startswith("/"):
        raise InvalidArgumentError(argument, "must start with '/'")
    if "//" in path or any(part in (".", "..") for part in path.split("/")):
        raise InvalidArgumentError(argument, "must not contain empty, '.' or '..' segments")
    return path.rstrip("/") or "/"


def require_route(value: Any, argument: str) -> str:
    """An Infisical route such as ``/api/v1/auth/universal-auth/login``.

    It is appended to the site URL as is: without its leading ``/``, or with ``//``, ``@``,
    a scheme or a query, it could name another host (``@evil.example/x``) and send the
    request's credentials there.
    """
    if (
        not isinstance(value, str)
        or not value.startswith("/")
        or value.startswith("//")
        or not value.isprintable()
        or any(c in value for c in " @\\?#")
        or "://" in value
    ):
        raise InvalidArgumentError(
            argument, "must be a route of the site, such as /api/v1/auth/universal-auth/login"
        )
    return value


def flag(value: bool, argument: str) -> str:
    """Query flags go out as the literal strings the server's enum accepts."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(argument, f"expected a bool, got {type(value).__name__}")
    return "true" if value else "false"
