"""Exact request shapes (method, path, query, JSON body, headers), with aioresponses."""

from __future__ import annotations

import re
from typing import Any

from aioresponses import aioresponses
from yarl import URL

from infisical_async import AsyncInfisicalClient, TokenAuth, __version__

SITE = "http://infisical.test"
TOKEN = "tok-123"


def client(**options: Any) -> AsyncInfisicalClient:
    return AsyncInfisicalClient(
        site_url=SITE,
        auth=TokenAuth(token=TOKEN),
        project_id="p1",
        environment="dev",
        max_retries=0,
        **options,
    )


def only_call(mock: aioresponses, method: str) -> tuple[URL, dict[str, Any]]:
    calls = [
        (url, call.kwargs)
        for (m, url), items in mock.requests.items()
        if m == method
        for call in items
    ]
    assert len(calls) == 1, calls
    return calls[0]


SECRET = {"secretKey": "K", "secretValue": "v", "id": "1", "version": 1}


async def test_list_sends_every_flag_explicitly(mock_http: aioresponses) -> None:
    mock_http.get(re.compile(r".*/api/v4/secrets\?.*"), payload={"secrets": [SECRET]})
    async with client() as c:
        result = await c.secrets.list(secret_path="/app/", tag_slugs=["a", "b"])
    assert result.secrets[0].value == "v"
    url, kwargs = only_call(mock_http, "GET")
    assert url.path == "/api/v4/secrets"
    assert dict(url.query) == {
        "projectId": "p1",
        "environment": "dev",
        "secretPath": "/app",
        "recursive": "false",
        "include_imports": "true",
        "includeImports": "true",
        "expandSecretReferences": "true",
        "viewSecretValue": "true",
        "tagSlugs": "a,b",
    }
    assert kwargs["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert kwargs["headers"]["Accept"] == "application/json"


async def test_get_quotes_the_name_and_sends_version(mock_http: aioresponses) -> None:
    mock_http.get(
        re.compile(r".*/api/v4/secrets/A%20B\?.*"),
        payload={"secret": {**SECRET, "secretKey": "A B"}},
    )
    async with client() as c:
        await c.secrets.get("A B", version=3, type="personal", include_imports=False)
    url, _ = only_call(mock_http, "GET")
    assert url.raw_path == "/api/v4/secrets/A%20B"
    assert url.query["version"] == "3" and url.query["type"] == "personal"
    assert url.query["include_imports"] == "false"


async def test_create_update_delete_bodies(mock_http: aioresponses) -> None:
    mock_http.post(f"{SITE}/api/v4/secrets/K", payload={"secret": SECRET})
    mock_http.patch(f"{SITE}/api/v4/secrets/K", payload={"secret": {**SECRET, "secretKey": "K2"}})
    mock_http.delete(f"{SITE}/api/v4/secrets/K", payload={"secret": SECRET})
    async with client() as c:
        await c.secrets.create("K", "v", comment="c", tag_ids=["t1"], metadata={"m": "1"})
        await c.secrets.update("K", value="v2", new_key="K2")
        await c.secrets.delete("K", secret_path="/x")
    _, post = only_call(mock_http, "POST")
    assert post["json"] == {
        "projectId": "p1",
        "environment": "dev",
        "secretPath": "/",
        "secretValue": "v",
        "secretComment": "c",
        "type": "shared",
        "tagIds": ["t1"],
        "secretMetadata": [{"key": "m", "value": "1", "isEncrypted": False}],
    }
    _, patch = only_call(mock_http, "PATCH")
    assert patch["json"] == {
        "projectId": "p1",
        "environment": "dev",
        "secretPath": "/",
        "secretValue": "v2",
        "newSecretName": "K2",
        "type": "shared",
    }
    _, delete = only_call(mock_http, "DELETE")
    assert delete["json"] == {
        "projectId": "p1",
        "environment": "dev",
        "secretPath": "/x",
        "type": "shared",
    }


async def test_login_body_and_user_agent(mock_http: aioresponses) -> None:
    from infisical_async import UniversalAuth

    mock_http.post(
        f"{SITE}/api/v1/auth/universal-auth/login",
        payload={
            "accessToken": "jwt",
            "expiresIn": 3600,
            "accessTokenMaxTTL": 86400,
            "tokenType": "Bearer",
        },
    )
    mock_http.get(re.compile(r".*/api/v4/secrets\?.*"), payload={"secrets": []})
    async with AsyncInfisicalClient(
        site_url=SITE,
        project_id="p1",
        environment="dev",
        auth=UniversalAuth(client_id="id", client_secret="sec"),
        max_retries=0,
    ) as c:
        await c.secrets.list()
        session = c._state.transport.session()
        assert session.headers["User-Agent"].startswith(f"infisical-async/{__version__} ")
    _, login = only_call(mock_http, "POST")
    assert login["json"] == {"clientId": "id", "clientSecret": "sec"}
    assert "Authorization" not in login["headers"]  # login carries no token
    assert login["headers"]["User-Agent"].startswith("infisical-async/")
    _, listing = only_call(mock_http, "GET")
    assert listing["headers"]["Authorization"] == "Bearer jwt"


async def test_dynamic_secret_and_lease_shapes(mock_http: aioresponses) -> None:
    from infisical_async import SqlDatabaseProvider

    ds = {"id": "d", "name": "pg", "type": "sql-database", "defaultTTL": "1h"}
    lease = {"id": "l1", "expireAt": "2026-11-23T08:25:12.598Z"}
    mock_http.post(f"{SITE}/api/v1/dynamic-secrets", payload={"dynamicSecret": ds})
    mock_http.post(
        f"{SITE}/api/v1/dynamic-secrets/leases",
        payload={
            "lease": lease,
            "dynamicSecret": ds,
            "data": {"DB_USERNAME": "u", "DB_PASSWORD": "pw"},
        },
    )
    mock_http.delete(f"{SITE}/api/v1/dynamic-secrets/leases/l1", payload={"lease": lease})
    async with client(project_slug="proj") as c:
        await c.dynamic_secrets.create(
            "pg",
            provider=SqlDatabaseProvider(
                client="postgres",
                host="db",
                port=5432,
                database="app",
                username="admin",
                password="adminpw",
                creation_statement="CREATE",
                revocation_statement="DROP",
            ),
            default_ttl="1h",
            max_ttl="24h",
            secret_path="/db",
        )
        created = await c.dynamic_secrets.leases.create("pg", ttl="5m", secret_path="/db")
        assert created.credentials == {"DB_USERNAME": "u", "DB_PASSWORD": "pw"}
        assert "pw" not in repr(created)
        await c.dynamic_secrets.leases.delete("l1", secret_path="/db")
    posts = [
        call.kwargs["json"]
        for (m, _), items in mock_http.requests.items()
        if m == "POST"
        for call in items
    ]
    assert posts[0] == {
        "projectSlug": "proj",
        "environmentSlug": "dev",
        "path": "/db",
        "name": "pg",
        "defaultTTL": "1h",
        "maxTTL": "24h",
        "provider": {
            "type": "sql-database",
            "inputs": {
                "client": "postgres",
                "host": "db",
                "port": 5432,
                "database": "app",
                "username": "admin",
                "password": "adminpw",
                "creationStatement": "CREATE",
                "revocationStatement": "DROP",
            },
        },
    }
    assert posts[1] == {
        "projectSlug": "proj",
        "environmentSlug": "dev",
        "path": "/db",
        "dynamicSecretName": "pg",
        "ttl": "5m",
    }
    _, delete = only_call(mock_http, "DELETE")
    assert delete["json"] == {
        "projectSlug": "proj",
        "environmentSlug": "dev",
        "path": "/db",
        "isForced": False,
    }
