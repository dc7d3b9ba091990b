"""The October-2024 and June-2025 modes, answer by answer, as the real servers recorded
them (real-server-findings.md): routes present and absent, shapes, status codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from infisical_async.testing import EmbeddedServer

from .conftest import Raw

KMS = "/api/v1/kms/keys"


@pytest.fixture
async def raw_in(request: pytest.FixtureRequest) -> AsyncIterator[Raw]:
    async with EmbeddedServer(compat=request.param) as server, aiohttp.ClientSession() as s:
        api = Raw(server, s)
        await api.login()
        yield api


def route_404(body: dict[str, object], method: str, path: str) -> bool:
    return body == {
        "message": f"Route {method}:{path} not found",
        "error": "Not Found",
        "statusCode": 404,
    }


@pytest.mark.parametrize("raw_in", ["2024", "2025"], indirect=True)
async def test_routes_of_the_older_generations(raw_in: Raw) -> None:
    raw, project = raw_in, raw_in.info.project_id
    for method, path in (
        ("GET", "/api/v4/secrets"),
        ("GET", "/api/v2/folders"),
        ("GET", f"/api/v1/projects/{project}"),
        ("GET", "/api/v1/projects/slug/sdk-test-project"),
        ("POST", "/api/v1/events/subscribe/project-events"),
    ):
        status, body, _ = await raw.call(method, path)
        assert status == 404 and route_404(body, method, path), path
    status, body, _ = await raw.call("GET", "/api/v2/workspace/sdk-test-project")
    assert status == 200 and body["id"] == project and body["_id"] == project
    assert [e["slug"] for e in body["environments"]] == ["dev", "staging", "prod"]
    assert ("type" in body) is (raw.server.config.compat == "2025")
    status, body, _ = await raw.call("GET", f"/api/v1/workspace/{project}")
    assert status == 200 and body["workspace"]["id"] == project
    # v1 folders take workspaceId; projectId alone is a validation failure.
    status, body, _ = await raw.call(
        "POST", "/api/v1/folders", json={"projectId": project, "environment": "dev", "name": "x"}
    )
    assert body["error"] == "ValidationFailure"
    assert status == (401 if raw.server.config.compat == "2024" else 422)
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/folders",
        json={"workspaceId": project, "environment": "dev", "name": "rec-folder", "path": "/"},
    )
    v1_folder = {
        "id",
        "name",
        "version",
        "createdAt",
        "updatedAt",
        "envId",
        "parentId",
        "isReserved",
    }
    assert status == 200 and set(body["folder"]) == v1_folder
    status, body, _ = await raw.call(
        "GET", "/api/v1/folders", params={"workspaceId": project, "environment": "dev"}
    )
    assert [set(f) for f in body["folders"]] == [v1_folder]
    status, body, _ = await raw.call(
        "DELETE",
        f"/api/v1/folders/{body['folders'][0]['id']}",
        json={"workspaceId": project, "environment": "dev", "path": "/"},
    )
    assert status == 200 and set(body["folder"]) == v1_folder
    # An unknown environment or folder lists as empty; writing there is a 404.
    for params in ({"environment": "nope"}, {"environment": "dev", "secretPath": "/missing"}):
        status, body, _ = await raw.call(
            "GET",
            "/api/v3/secrets/raw",
            params={"workspaceId": project, "include_imports": "true", **params},
        )
        assert (status, body) == (200, {"secrets": [], "imports": []})
    status, body, _ = await raw.call(
        "POST",
        "/api/v3/secrets/raw/A",
        json={"workspaceId": project, "environment": "dev", "secretPath": "/missing",
              "secretValue": "x"},
    )  # fmt: skip
    assert (status, body["message"]) == (
        404,
        "Folder not found for the given environment slug & secret path",
    )


@pytest.mark.parametrize("raw_in", ["2024"], indirect=True)
async def test_kms_of_the_2024_server(raw_in: Raw) -> None:
    raw, project = raw_in, raw_in.info.project_id
    status, body, headers = await raw.call(
        "POST",
        KMS,
        json={"projectId": project, "name": "key-a", "keyUsage": "encrypt-decrypt",
              "encryptionAlgorithm": "aes-256-gcm"},
    )  # fmt: skip
    assert status == 200 and "X-Request-Id" not in headers
    key = body["key"]
    assert set(key) == {
        "id", "description", "isDisabled", "isReserved", "orgId", "name", "createdAt",
        "updatedAt", "projectId", "slug",
    }  # fmt: skip
    status, body, _ = await raw.call("GET", KMS, params={"projectId": project})
    listed = body["keys"][0]
    assert set(listed) - set(key) == {"version", "encryptionAlgorithm"}
    assert body["totalCount"] == 1
    status, body, _ = await raw.call("PATCH", f"{KMS}/{key['id']}", json={"description": "d"})
    assert status == 200 and set(body["key"]) == set(key)
    status, body, _ = await raw.call(
        "POST", KMS, json={"projectId": project, "name": "b", "encryptionAlgorithm": "RSA_4096"}
    )
    assert status == 401 and body == {
        "statusCode": 401,
        "message": [
            {
                "code": "invalid_enum_value",
                "received": "RSA_4096",
                "options": ["aes-256-gcm", "aes-128-gcm"],
                "path": ["encryptionAlgorithm"],
                "message": "Invalid enum value. Expected 'aes-256-gcm' | 'aes-128-gcm', "
                "received 'RSA_4096'",
            }
        ],
        "error": "ValidationFailure",
    }
    for method, suffix in (
        ("GET", ""),
        ("POST", "/sign"),
        ("POST", "/verify"),
        ("GET", "/public-key"),
        ("GET", "/signing-algorithms"),
    ):
        path = f"{KMS}/{key['id']}{suffix}"
        status, body, _ = await raw.call(method, path)
        assert status == 404 and route_404(body, method, path)
    status, body, _ = await raw.call("GET", f"{KMS}/key-name/key-a")
    assert status == 404 and route_404(body, "GET", f"{KMS}/key-name/key-a")
    status, body, _ = await raw.call("DELETE", f"{KMS}/{key['id']}")
    assert status == 200 and set(body["key"]) == set(key)


@pytest.mark.parametrize("raw_in", ["2025"], indirect=True)
async def test_kms_of_the_2025_server_needs_a_kms_project(raw_in: Raw) -> None:
    raw = raw_in
    for method, path in (("GET", KMS), ("POST", KMS), ("GET", f"{KMS}/x/public-key")):
        status, body, _ = await raw.call(method, path, params={"projectId": raw.info.project_id})
        assert status == 400
        assert body["message"] == (
            "The project is of type secret-manager. Operations of type kms are not allowed"
        )
        assert body["reqId"].startswith("req-")
