"""Request validation and error bodies shaped like the real server's (zod + Fastify)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiError", "F", "gen_req_id", "validate", "validation_error"]

_REQ_ID_ALPHABET = string.ascii_letters + string.digits


def gen_req_id() -> str:
    return "req-" + "".join(secrets.choice(_REQ_ID_ALPHABET) for _ in range(14))


class ApiError(Exception):
    """Raised by handlers; the error middleware renders it as the server would."""

    def __init__(
        self, status: int, message: str | list[dict[str, Any]], error: str, details: Any = None
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.error = error
        self.details = details


def validation_error(issues: list[dict[str, Any]]) -> ApiError:
    # Rendered as 422 by current servers and as 401 by the 2024 generation (a server bug).
    return ApiError(422, issues, "ValidationFailure")


def _issue(path: str, message: str, code: str = "custom", **extra: Any) -> dict[str, Any]:
    return {"code": code, **extra, "path": [path], "message": message}


def _received(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass(frozen=True)
class F:
    """One field of a request schema (a small subset of zod)."""

    kind: str  # "str" | "int" | "bool" | "flag" | "list" | "dict" | "any"
    required: bool = False
    default: Any = None
    trim: bool = True
    min_len: int | None = None
    max_len: int | None = None
    choices: tuple[str, ...] | None = None
    nullable: bool = False
    check: Callable[[Any], str | None] | None = field(default=None, compare=False)


def validate(
    data: Mapping[str, Any], schema: Mapping[str, F], *, query: bool = False
) -> dict[str, Any]:
    """Return the cleaned fields of ``data`` (unknown keys stripped, as zod does)."""
    out: dict[str, Any] = {}
    issues: list[dict[str, Any]] = []
    for name, spec in schema.items():
        value = data.get(name)
        if value is None and not (spec.nullable and name in data and not query):
            if spec.required:
                expected = {
                    "str": "string",
                    "flag": "string",
                    "int": "number",
                    "bool": "boolean",
                    "list": "array",
                    "dict": "object",
                }
                extra = {"expected": expected[spec.kind]} if spec.kind in expected else {}
                issues.append(
                    _issue(name, "Required", "invalid_type", **extra, received="undefined")
                )
                continue
            out[name] = spec.default
            continue
        if value is None:
            out[name] = None
            continue
        problem = _coerce(name, value, spec, query)
        if isinstance(problem, dict):
            issues.append(problem)
            continue
        value = problem[0]
        if spec.check is not None:
            message = spec.check(value)
            if message:
                issues.append(_issue(name, message))
                continue
        out[name] = value
    if issues:
        raise validation_error(issues)
    return out


def _coerce_flag(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if value not in ("true", "false"):
        return _issue(
            name,
            f"Invalid enum value. Expected 'true' | 'false', received '{value}'",
            "invalid_enum_value",
            received=value,
            options=["true", "false"],
        )
    return (value == "true",)


def _coerce_int(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if query and isinstance(value, str):
        try:
            return (int(value),)
        except ValueError:
            return _issue(
                name,
                "Expected number, received nan",
                "invalid_type",
                expected="number",
                received="nan",
            )
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _issue(
            name,
            f"Expected number, received {_received(value)}",
            "invalid_type",
            expected="number",
            received=_received(value),
        )
    return (value,)


def _coerce_bool(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if query and value in ("true", "false"):
        return (value == "true",)
    if not isinstance(value, bool):
        return _issue(
            name,
            f"Expected boolean, received {_received(value)}",
            "invalid_type",
            expected="boolean",
            received=_received(value),
        )
    return (value,)


def _coerce_list(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if not isinstance(value, list):
        return _issue(
            name,
            f"Expected array, received {_received(value)}",
            "invalid_type",
            expected="array",
            received=_received(value),
        )
    if spec.min_len is not None and len(value) < spec.min_len:
        return _issue(
            name,
            f"Array must contain at least {spec.min_len} element(s)",
            "too_small",
            minimum=spec.min_len,
            type="array",
            inclusive=True,
        )
    return (value,)


def _coerce_dict(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if not isinstance(value, dict):
        return _issue(
            name,
            f"Expected object, received {_received(value)}",
            "invalid_type",
            expected="object",
            received=_received(value),
        )
    return (value,)


def _coerce_str(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    if not isinstance(value, str):
        return _issue(
            name,
            f"Expected string, received {_received(value)}",
            "invalid_type",
            expected="string",
            received=_received(value),
        )
    if spec.trim:
        value = value.strip()
    if spec.choices is not None and value not in spec.choices:
        options = " | ".join(f"'{c}'" for c in spec.choices)
        return _issue(
            name,
            f"Invalid enum value. Expected {options}, received '{value}'",
            "invalid_enum_value",
            received=value,
            options=list(spec.choices),
        )
    if spec.min_len is not None and len(value) < spec.min_len:
        return _issue(
            name,
            f"String must contain at least {spec.min_len} character(s)",
            "too_small",
            minimum=spec.min_len,
            type="string",
            inclusive=True,
        )
    if spec.max_len is not None and len(value) > spec.max_len:
        return _issue(
            name,
            f"String must contain at most {spec.max_len} character(s)",
            "too_big",
            maximum=spec.max_len,
            type="string",
            inclusive=True,
        )
    return (value,)


def _coerce_any(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    return (value,)


_COERCERS = {
    "any": _coerce_any,
    "flag": _coerce_flag,
    "int": _coerce_int,
    "bool": _coerce_bool,
    "list": _coerce_list,
    "dict": _coerce_dict,
    "str": _coerce_str,
}


def _coerce(name: str, value: Any, spec: F, query: bool) -> tuple[Any] | dict[str, Any]:
    """``(value,)`` coerced to the field's kind, or the zod issue describing why not."""
    return _COERCERS[spec.kind](name, value, spec, query)
