"""The one cattrs converter: camelCase JSON <-> snake_case attrs models.

Built once at import; the per-class hooks are generated on first use and cached.
A field's wire name is ``metadata={"wire": ...}`` where it is not the camelCase of its name.
Unknown keys in responses are ignored (servers add fields between versions).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import ResponseValidationError

__all__ = ["converter", "dumps", "loads", "structure", "to_camel", "unstructure"]

T = TypeVar("T")

try:  # orjson is an optional speed-up (extra "speedups").
    import orjson

    def loads(data: bytes | str) -> Any:
        return orjson.loads(data)

    def dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode()

except ImportError:  # pragma: no cover - exercised when the extra is absent

    def loads(data: bytes | str) -> Any:
        return json.loads(data)

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))


def to_camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _wire_name(field: attrs.Attribute[Any]) -> str:
    wire = field.metadata.get("wire")
    return wire if isinstance(wire, str) else to_camel(field.name)


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise TypeError("expected an ISO-8601 string")
    # Python 3.10's fromisoformat does not read the trailing "Z" servers send.
    parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _unstructure_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)

    def structure_factory(cls: type) -> Callable[[Any, type], Any]:
        overrides = {f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)}
        return make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        overrides = {f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)}
        return make_dict_unstructure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter = _make_converter()


def structure(data: Any, cls: type[T], *, where: str = "response") -> T:
    """Parse ``data`` into ``cls``; a mismatch raises ResponseValidationError naming fields only."""
    try:
        return converter.structure(data, cls)
    except cattrs.ClassValidationError as exc:
        # transform_error names the paths; the inner exceptions may quote values, so drop them.
        raise ResponseValidationError(
            f"unexpected {where} shape for {cls.__name__}", errors=cattrs.transform_error(exc)
        ) from None
    except (TypeError, ValueError, KeyError, AttributeError):
        raise ResponseValidationError(f"unexpected {where} shape for {cls.__name__}") from None


def unstructure(obj: Any) -> Any:
    return converter.unstructure(obj)
