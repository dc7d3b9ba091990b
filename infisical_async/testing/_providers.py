"""Dynamic-secret providers that really run their statements: PostgreSQL and Redis.

The drivers are optional (extra ``infisical-async[testing]``) and imported only when a
dynamic secret of that kind is used.
"""

from __future__ import annotations

import importlib
import re
import secrets
import string
from datetime import datetime
from typing import Any, Protocol

from ._state import iso
from ._wire import ApiError

__all__ = ["Provider", "ProviderError", "get_provider"]

_ALNUM = string.ascii_letters + string.digits
_SQL_PASSWORD_ALPHABET = _ALNUM + "-_"
_REDIS_PASSWORD_ALPHABET = _ALNUM + "-_.~!*"
_TEMPLATE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def _driver(module: str, what: str) -> Any:
    """Import a database driver, or answer with an error that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ApiError(
            500,
            f"The embedded test server needs the {module.split('.')[0]} package to run "
            f"{what} dynamic secrets: pip install 'infisical-async[testing]'",
            "InternalServerError",
        ) from None


class ProviderError(Exception):
    """The provider's database refused a statement; the message is the driver's."""


def render(template: str, values: dict[str, str]) -> str:
    return _TEMPLATE.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class Provider(Protocol):
    async def check(self, inputs: dict[str, Any]) -> None: ...

    async def create(
        self, inputs: dict[str, Any], expire_at: datetime
    ) -> tuple[str, dict[str, str]]:
        """Create the credentials; return (external entity id, lease data)."""
        ...

    async def renew(self, inputs: dict[str, Any], entity: str, expire_at: datetime) -> None: ...

    async def revoke(self, inputs: dict[str, Any], entity: str) -> None: ...


class PostgresProvider:
    """``sql-database`` with ``client: postgres``, run through asyncpg."""

    async def _execute(self, inputs: dict[str, Any], script: str) -> None:
        asyncpg = _driver("asyncpg", "PostgreSQL")

        try:
            conn = await asyncpg.connect(
                host=inputs["host"],
                port=int(inputs["port"]),
                user=inputs["username"],
                password=inputs.get("password"),
                database=inputs["database"],
                timeout=10,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            raise ProviderError(f"Failed to connect with provider: {exc}") from None
        try:
            if script:
                await conn.execute(script)
        except asyncpg.PostgresError as exc:
            raise ProviderError(str(exc)) from None
        finally:
            await conn.close()

    async def check(self, inputs: dict[str, Any]) -> None:
        await self._execute(inputs, "SELECT 1")

    async def create(
        self, inputs: dict[str, Any], expire_at: datetime
    ) -> tuple[str, dict[str, str]]:
        username = _random(_ALNUM, 32)
        password = _random(_SQL_PASSWORD_ALPHABET, 48)
        values = {"username": username, "password": password, "expiration": iso(expire_at)}
        await self._execute(inputs, render(inputs["creationStatement"], values))
        return username, {"DB_USERNAME": username, "DB_PASSWORD": password}

    async def renew(self, inputs: dict[str, Any], entity: str, expire_at: datetime) -> None:
        statement = inputs.get("renewStatement")
        if statement:
            values = {"username": entity, "expiration": iso(expire_at)}
            await self._execute(inputs, render(statement, values))

    async def revoke(self, inputs: dict[str, Any], entity: str) -> None:
        await self._execute(inputs, render(inputs["revocationStatement"], {"username": entity}))


class RedisProvider:
    """``redis``: ``;``-separated commands run in one MULTI, through redis-py's asyncio client."""

    async def _run(self, inputs: dict[str, Any], script: str | None) -> None:
        aioredis = _driver("redis.asyncio", "Redis")
        redis_error = _driver("redis.exceptions", "Redis").RedisError

        client = aioredis.Redis(
            host=inputs["host"],
            port=int(inputs["port"]),
            username=inputs.get("username"),
            password=inputs.get("password"),
            socket_timeout=10,
            socket_connect_timeout=10,
        )
        try:
            if script is None:
                await client.ping()
                return
            commands = [c.strip().split() for c in script.split(";") if c.strip()]
            async with client.pipeline(transaction=True) as pipe:
                for command in commands:
                    pipe.execute_command(*command)
                await pipe.execute()
        except (OSError, redis_error) as exc:
            raise ProviderError(str(exc)) from None
        finally:
            await client.aclose()

    async def check(self, inputs: dict[str, Any]) -> None:
        await self._run(inputs, None)

    async def create(
        self, inputs: dict[str, Any], expire_at: datetime
    ) -> tuple[str, dict[str, str]]:
        username = _random(_ALNUM, 32)
        password = _random(_REDIS_PASSWORD_ALPHABET, 64)
        values = {"username": username, "password": password, "expiration": iso(expire_at)}
        await self._run(inputs, render(inputs["creationStatement"], values))
        return username, {"DB_USERNAME": username, "DB_PASSWORD": password}

    async def renew(self, inputs: dict[str, Any], entity: str, expire_at: datetime) -> None:
        statement = inputs.get("renewStatement")
        if statement:
            await self._run(
                inputs, render(statement, {"username": entity, "expiration": iso(expire_at)})
            )

    async def revoke(self, inputs: dict[str, Any], entity: str) -> None:
        await self._run(inputs, render(inputs["revocationStatement"], {"username": entity}))


_SQL_REQUIRED = (
    "client",
    "host",
    "port",
    "database",
    "username",
    "creationStatement",
    "revocationStatement",
)
_REDIS_REQUIRED = ("host", "port", "username", "creationStatement", "revocationStatement")


def provider_issues(provider_type: str, inputs: dict[str, Any]) -> list[str]:
    """Names of required inputs that are missing, for the provider types checked here."""
    required = {"sql-database": _SQL_REQUIRED, "redis": _REDIS_REQUIRED}.get(provider_type, ())
    return [name for name in required if inputs.get(name) in (None, "")]


def get_provider(provider_type: str, inputs: dict[str, Any]) -> Provider:
    if provider_type == "sql-database" and inputs.get("client") == "postgres":
        return PostgresProvider()
    if provider_type == "redis":
        return RedisProvider()
    raise ApiError(
        400,
        f"The embedded test server cannot issue leases for provider '{provider_type}'"
        + (f" (client '{inputs.get('client')}')" if provider_type == "sql-database" else "")
        + "; it runs sql-database/postgres and redis",
        "BadRequest",
    )
