"""Client namespaces (``client.secrets``, ``client.dynamic_secrets.leases``, ...).

A namespace is declared on the class, so ``help(AsyncInfisicalClient.secrets)`` and IDEs
see the namespace's class and its documented methods; each client object (or view) makes
its own instance on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

__all__ = ["Namespace", "forget_namespaces"]

N = TypeVar("N")


class Namespace(Generic[N]):
    """On the class: the namespace class. On an object: its instance, made once by
    ``make(obj)`` (by default ``kind(obj._client)`` for a namespace inside a namespace and
    ``kind(obj)`` on the client itself)."""

    def __init__(self, kind: type[N], make: Callable[[Any], N] | None = None) -> None:
        self.kind = kind
        self._make = make
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> type[N]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> N: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> N | type[N]:
        if obj is None:
            return self.kind
        if self._make is not None:
            value = self._make(obj)
        else:
            value = self.kind(getattr(obj, "_client", obj))  # type: ignore[call-arg]
        # Stored on the object: later reads find it there without calling us again.
        obj.__dict__[self.name] = value
        return value


def forget_namespaces(obj: object) -> None:
    """Drop ``obj``'s namespace instances (a copy made for a view must make its own)."""
    for cls in type(obj).__mro__:
        for name, attr in vars(cls).items():
            if isinstance(attr, Namespace):
                obj.__dict__.pop(name, None)
