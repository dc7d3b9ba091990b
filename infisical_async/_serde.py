"""The one cattrs converter: camelCase JSON <-> snake_case attrs models.

Built once, on first use (importing cattrs costs more than the rest of this package, so
``import infisical_async`` does not pay for it); the per-class hooks are generated on first
use of each class and cached.
A field's wire name is ``metadata={"wire": ...}`` where it is not the camelCase of its name.
Unknown keys in responses are ignored (servers add fields between versions).

Responses are parsed by a compiled fast path first (`_fast_structurer`): per class, one
generated function that checks each field's type inline and calls the class. It takes
only well-formed answers; anything else (a missing field, a wrong type, a shape it does
not compile) falls back to the cattrs converter, which gives the same result or the error
naming the field paths. A well-formed answer therefore never imports cattrs: that import
is the largest part of a cold start's own cost.
"""

from __future__ import annotations

import collections.abc
import json
import sys
import types
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar

import attrs

from .errors import ResponseValidationError

if typing.TYPE_CHECKING:
    import cattrs

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


if sys.version_info >= (3, 11):
    _parse_iso = datetime.fromisoformat  # no frame of ours: two per secret of a list

else:  # 3.10's fromisoformat does not read the trailing "Z" servers send

    def _parse_iso(value: str) -> datetime:
        return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)


def _structure_datetime(value: Any, _: type) -> datetime:
    if value.__class__ is not str:
        if isinstance(value, datetime):
            return value
        raise TypeError("expected an ISO-8601 string")
    parsed = _parse_iso(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _unstructure_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _strict(kind: type) -> Callable[[Any, type], Any]:
    """Accept exactly ``kind``: cattrs would turn 5 into "5" for a str field."""

    def hook(value: Any, _: type) -> Any:
        if value.__class__ is kind or (kind is float and value.__class__ is int):
            return value
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")

    return hook


def _is_optional(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and (
        len(args) == 2 and type(None) in args
    )


def _make_converter() -> cattrs.Converter:
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

    conv = cattrs.Converter(forbid_extra_keys=False)
    for kind in (str, int, float, bool):
        conv.register_structure_hook(kind, _strict(kind))
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(datetime, _unstructure_datetime)

    def optional_factory(tp: Any) -> Callable[[Any, type], Any]:
        # Resolve the inner hook once instead of dispatching on every value.
        inner_type = next(a for a in typing.get_args(tp) if a is not type(None))
        inner = conv.get_structure_hook(inner_type)

        def hook(value: Any, _: type) -> Any:
            return None if value is None else inner(value, inner_type)

        return hook

    def structure_factory(cls: type) -> Callable[[Any, type], Any]:
        overrides = {f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)}
        return make_dict_structure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    def unstructure_factory(cls: type) -> Callable[[Any], Any]:
        overrides = {f.name: override(rename=_wire_name(f)) for f in attrs.fields(cls)}
        return make_dict_unstructure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    conv.register_structure_hook_factory(_is_optional, optional_factory)
    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


_converter: cattrs.Converter | None = None


def converter() -> cattrs.Converter:
    """The converter, built on first use."""
    global _converter
    if _converter is None:
        _converter = _make_converter()
    return _converter


def structure(data: Any, cls: type[T], *, where: str = "response") -> T:
    """Parse ``data`` into ``cls``; any mismatch raises ResponseValidationError naming
    the field paths, never the values.

    The parser's own exception is not chained (not even as ``__context__``): cattrs and
    validator messages may quote the value, which may be a secret.
    """
    fast = _FAST.get(cls, _NOT_BUILT)
    if fast is _NOT_BUILT:
        fast = _FAST[cls] = _fast_structurer(cls)
    if fast is not None:
        try:
            return fast(data)  # type: ignore[no-any-return]
        except Exception:  # not well-formed: the converter below says where (or accepts it)
            pass
    return _structure_slow(data, cls, where)


def _structure_slow(data: Any, cls: type[T], where: str) -> T:
    import cattrs

    name = getattr(cls, "__name__", None) or str(cls)
    try:
        return (_converter or converter()).structure(data, cls)
    except cattrs.BaseValidationError as exc:
        failure = ResponseValidationError(
            f"unexpected {where} shape for {name}", errors=_paths(exc)
        )
    except Exception:  # TypeError, ValueError, KeyError... from hooks and validators
        failure = ResponseValidationError(f"unexpected {where} shape for {name}")
    raise failure


_NOT_BUILT: Any = object()
_FAST: dict[Any, Callable[[Any], Any] | None] = {}
"""Compiled fast structurers by type; None where a type has no fast path."""


class _NoFastPath(Exception):
    """A type the fast path does not compile: the converter handles it alone."""


def _fast_structurer(tp: Any) -> Callable[[Any], Any] | None:
    """The fast path for ``tp`` (an attrs class, or a list/tuple of them), or None."""
    try:
        return _compile(tp, {})
    except _NoFastPath:
        return None


_SCALARS = (str, int, bool)


def _compile(tp: Any, building: dict[Any, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """A function that returns the structured value or raises (any exception) when the
    value is not exactly what the converter would accept unchanged."""
    if tp in _SCALARS:

        def scalar(value: Any, kind: type = tp) -> Any:
            if value.__class__ is not kind:
                raise TypeError
            return value

        return scalar
    if tp is Any:
        return lambda value: value
    if tp is datetime:
        return lambda value: _structure_datetime(value, datetime)
    if _is_optional(tp):
        inner_type = next(a for a in typing.get_args(tp) if a is not type(None))
        inner = _compile(inner_type, building)
        return lambda value: None if value is None else inner(value)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is list and len(args) == 1:
        item = _compile(args[0], building)

        def structure_list(value: Any) -> Any:
            if value.__class__ is not list:
                raise TypeError
            return [item(v) for v in value]

        return structure_list
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _compile(args[0], building)

        def structure_tuple(value: Any) -> Any:
            if value.__class__ is not list:
                raise TypeError
            if not value:  # most secrets have no tags and no metadata
                return ()
            return tuple([item(v) for v in value])

        return structure_tuple
    if origin in (dict, collections.abc.Mapping) and args == (str, Any):

        def structure_mapping(value: Any) -> Any:
            if value.__class__ is not dict:
                raise TypeError
            for key in value:
                if key.__class__ is not str:
                    raise TypeError
            return dict(value)

        return structure_mapping
    if origin is typing.Literal and args and all(a.__class__ is str for a in args):
        allowed = frozenset(args)

        def literal(value: Any) -> Any:
            if value.__class__ is not str or value not in allowed:
                raise TypeError
            return value

        return literal
    if isinstance(tp, type) and attrs.has(tp):
        return _compile_class(tp, building)
    raise _NoFastPath(str(tp))


def _compile_class(cls: type, building: dict[Any, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """One generated function per class: inline checks for scalar fields, a call to the
    field's own structurer for the rest, and ``cls(**kwargs)`` (validators run there)."""
    if cls in building:  # a recursive model: calls through the cache once it is built
        return building[cls]
    built = _FAST.get(cls, _NOT_BUILT)
    if built is not _NOT_BUILT:
        if built is None:
            raise _NoFastPath(cls.__name__)
        return typing.cast("Callable[[Any], Any]", built)
    building[cls] = lambda value: _FAST[cls](value)  # type: ignore[misc]
    try:
        function = _generate(cls, building)
    except _NoFastPath:
        _FAST[cls] = None
        raise
    finally:
        del building[cls]
    _FAST[cls] = function
    return function


def _generate(cls: type, building: dict[Any, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    names: dict[str, Any] = {
        "cls": cls,
        "MISSING": _NOT_BUILT,
        "parse_iso": _parse_iso,
        "utc": timezone.utc,
    }
    direct = _slots_settable(cls)
    lines = ["def structure(o):", "    if o.__class__ is not dict: raise TypeError"]
    lines.append("    obj = new(cls)" if direct else "    kw = {}")
    names["new"] = object.__new__
    for i, field in enumerate(attrs.fields(cls)):
        if not field.init:
            raise _NoFastPath(f"{cls.__name__}.{field.name}")
        wire = _wire_name(field)
        optional = _is_optional(field.type)
        inner = (
            next(a for a in typing.get_args(field.type) if a is not type(None))
            if optional
            else field.type
        )
        required = field.default is attrs.NOTHING
        names[f"w{i}"] = wire
        if required:
            lines.append(f"    v = o[w{i}]")
            indent = "    "
        elif direct:
            lines.append(f"    v = o.get(w{i}, MISSING)")
            lines.append("    if v is MISSING:")
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                names[f"d{i}"] = field.default.factory
                lines.append(f"        v = d{i}()")
            else:
                names[f"d{i}"] = field.default
                lines.append(f"        v = d{i}")
            lines.append("    else:")
            indent = "        "
        else:
            lines.append(f"    v = o.get(w{i}, MISSING)")
            lines.append("    if v is not MISSING:")
            indent = "        "
        if inner in _SCALARS:
            names[f"t{i}"] = inner
            test = f"v.__class__ is not t{i}"
            lines.append(
                f"{indent}if {'v is not None and ' if optional else ''}{test}: raise TypeError"
            )
        elif inner is datetime:
            # Inline: two of a secret's fields, on every secret of a list.
            if optional:
                lines.append(f"{indent}if v is not None:")
                indent += "    "
            lines.append(f"{indent}if v.__class__ is not str: raise TypeError")
            lines.append(f"{indent}v = parse_iso(v)")
            lines.append(f"{indent}if v.tzinfo is None: v = v.replace(tzinfo=utc)")
            indent = indent[:-4] if optional else indent
        elif optional:
            names[f"h{i}"] = _compile(inner, building)
            lines.append(f"{indent}if v is not None: v = h{i}(v)")
        else:
            names[f"h{i}"] = _compile(field.type, building)
            lines.append(f"{indent}v = h{i}(v)")
        if direct:
            names[f"s{i}"] = getattr(cls, field.name).__set__
            lines.append(f"    s{i}(obj, v)")
        else:
            lines.append(f"{indent}kw[{(field.alias or field.name)!r}] = v")
    lines.append("    return obj" if direct else "    return cls(**kw)")
    source = "\n".join(lines)
    exec(compile(source, f"<fast structure {cls.__module__}.{cls.__qualname__}>", "exec"), names)
    function: Callable[[Any], Any] = names["structure"]
    return function


def _slots_settable(cls: type) -> bool:
    """Whether an instance may be made by filling its slots, as ``__init__`` would: a slotted
    class whose fields have no validator, converter or self-taking factory, and no hooks
    around ``__init__``. Skipping the frozen class's ``__init__`` (one guarded setattr per
    field) is a third of the cost of a secret in a long list."""
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    if "_attrs_cached_hash" in getattr(cls, "__slots__", ()):  # cache_hash=True
        return False
    for field in attrs.fields(cls):
        if field.validator is not None or field.converter is not None or not field.init:
            return False
        if isinstance(field.default, attrs.Factory) and field.default.takes_self:  # type: ignore[arg-type]
            return False
        if not isinstance(getattr(cls, field.name, None), types.MemberDescriptorType):
            return False
    return True


def _paths(exc: Exception) -> list[str]:
    """Where the shape was wrong, as ``$.a.b`` paths with the kind of problem only."""
    import cattrs

    try:
        messages = cattrs.transform_error(exc, format_exception=_problem)
    except Exception:  # an error tree cattrs cannot walk: say nothing rather than guess
        return []
    return [m for m in messages if isinstance(m, str)]


def _problem(exc: BaseException, type_: Any) -> str:
    """cattrs's per-field message, without the offending value."""
    if isinstance(exc, KeyError):
        return "required field missing"
    expected = getattr(type_, "__name__", None) or str(type_)
    return f"invalid value (expected {expected})"


def unstructure(obj: Any) -> Any:
    return (_converter or converter()).unstructure(obj)
