"""Typed inputs for dynamic-secret providers.

``SqlDatabaseProvider`` and ``RedisProvider`` cover the common cases; ``GenericProvider``
passes any provider's ``type`` and ``inputs`` through for the many others (aws-iam,
mongo-db, kubernetes, ...). Admin passwords and CA material stay out of ``repr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Protocol

import attrs

from ._serde import unstructure

__all__ = [
    "DynamicSecretProvider",
    "GenericProvider",
    "RedisProvider",
    "SqlClient",
    "SqlDatabaseProvider",
]

SqlClient = Literal["postgres", "mysql2", "oracledb", "mssql", "sap-ase", "vertica"]
_SQL_ALIASES = {"mysql": "mysql2", "oracle": "oracledb"}


class DynamicSecretProvider(Protocol):
    def to_wire(self) -> dict[str, Any]:
        """The ``provider`` object of the create request: ``{"type": ..., "inputs": {...}}``."""
        ...


def _sql_client(value: str) -> str:
    return _SQL_ALIASES.get(value, value)


def _inputs(obj: object) -> dict[str, Any]:
    return {k: v for k, v in unstructure(obj).items() if v is not None}


@attrs.frozen(kw_only=True)
class SqlDatabaseProvider:
    """``sql-database``: PostgreSQL, MySQL, MS SQL, Oracle, SAP ASE, Vertica.

    Statements may use ``{{username}}``, ``{{password}}`` and ``{{expiration}}``.
    ``client`` also accepts ``"mysql"`` and ``"oracle"`` for the wire's ``mysql2``/``oracledb``.
    """

    type: ClassVar[str] = "sql-database"
    client: str = attrs.field(converter=_sql_client)
    host: str
    port: int
    database: str
    username: str
    password: str = attrs.field(repr=False)
    creation_statement: str
    revocation_statement: str
    renew_statement: str | None = None
    ca: str | None = attrs.field(default=None, repr=False)
    ssl_enabled: bool | None = None
    ssl_reject_unauthorized: bool | None = None
    password_requirements: Mapping[str, Any] | None = None
    gateway_id: str | None = None

    @client.validator
    def _check_client(self, _: attrs.Attribute[str], value: str) -> None:
        from .errors import InvalidArgumentError

        if value not in ("postgres", "mysql2", "oracledb", "mssql", "sap-ase", "vertica"):
            raise InvalidArgumentError(
                "client", "must be one of postgres, mysql, oracle, mssql, sap-ase, vertica"
            )

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "inputs": _inputs(self)}


@attrs.frozen(kw_only=True)
class RedisProvider:
    """``redis``: ACL users created by ``;``-separated commands (run in one MULTI)."""

    type: ClassVar[str] = "redis"
    host: str
    port: int
    username: str = "default"
    password: str | None = attrs.field(default=None, repr=False)
    creation_statement: str = "ACL SETUSER {{username}} on >{{password}} ~* &* +@all"
    revocation_statement: str = "ACL DELUSER {{username}}"
    renew_statement: str | None = None
    ca: str | None = attrs.field(default=None, repr=False)
    ssl_reject_unauthorized: bool | None = None

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "inputs": _inputs(self)}


@attrs.frozen(kw_only=True)
class GenericProvider:
    """Any provider, as raw wire data: ``type`` and camelCase ``inputs``."""

    type: str
    inputs: Mapping[str, Any] = attrs.field(repr=False)

    def to_wire(self) -> dict[str, Any]:
        return {"type": self.type, "inputs": dict(self.inputs)}
