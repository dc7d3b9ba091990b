"""Secrets, folders, imports and tags routes of the embedded server, with plain aiohttp."""

from __future__ import annotations

from typing import Any

from .conftest import Raw, assert_error


def scope(raw: Raw, env: str = "dev", path: str = "/", **extra: Any) -> dict[str, Any]:
    return {raw.v[2]: raw.info.project_id, "environment": env, "secretPath": path, **extra}


async def create(raw: Raw, key: str, value: str, **extra: Any) -> dict[str, Any]:
    status, body, _ = await raw.call(
        "POST", f"{raw.v[0]}/{key}", json={**scope(raw), "secretValue": value, **extra}
    )
    assert status == 200, body
    return dict(body["secret"])


async def test_create_get_update_delete_cycle(raw: Raw) -> None:
    base = raw.v[0]
    secret = await create(raw, "DB_PASSWORD", "  s3cr3t  ", secretComment="c")
    assert secret["secretKey"] == "DB_PASSWORD"
    assert secret["secretValue"] == "s3cr3t"  # the server trims values
    assert secret["version"] == 1 and secret["type"] == "shared"
    assert secret["workspace"] == raw.info.project_id and secret["_id"] == secret["id"]

    status, body, _ = await raw.call("GET", f"{base}/DB_PASSWORD", params=scope(raw))
    assert status == 200 and body["secret"]["secretValue"] == "s3cr3t"

    status, body, _ = await raw.call(
        "PATCH", f"{base}/DB_PASSWORD", json={**scope(raw), "secretValue": "v2\n"}
    )
    assert status == 200 and body["secret"]["version"] == 2
    assert body["secret"]["secretValue"] == "v2\n"  # one trailing newline survives

    status, body, _ = await raw.call("GET", f"{base}/DB_PASSWORD", params=scope(raw, version="1"))
    expected = "v2\n" if raw.server.config.compat == "2024" else "s3cr3t"
    assert body["secret"]["secretValue"] == expected

    rename = {**scope(raw), "newSecretName": "RENAMED"}
    if raw.server.config.compat == "2024":  # that server's rename needs the value
        status, body, _ = await raw.call("PATCH", f"{base}/DB_PASSWORD", json=rename)
        assert status == 401 and body["error"] == "ValidationFailure"
        assert body["message"][0]["path"] == ["secretValue"]
        rename["secretValue"] = "v2\n"
    status, body, _ = await raw.call("PATCH", f"{base}/DB_PASSWORD", json=rename)
    assert status == 200 and body["secret"]["secretKey"] == "RENAMED"

    status, body, _ = await raw.call("DELETE", f"{base}/RENAMED", json=scope(raw))
    assert status == 200 and body["secret"]["secretKey"] == "RENAMED"
    status, body, _ = await raw.call("DELETE", f"{base}/RENAMED", json=scope(raw))
    assert status == 404
    assert_error(
        body,
        status=404,
        error="NotFound",
        message="Secret not found",
        legacy=raw.server.config.compat == "2024",
    )


async def test_write_errors(raw: Raw) -> None:
    base = raw.v[0]
    legacy = raw.server.config.compat == "2024"
    await create(raw, "DUP", "x")
    status, body, _ = await raw.call(
        "POST", f"{base}/DUP", json={**scope(raw), "secretValue": "again"}
    )
    assert status == 400
    assert_error(
        body, status=400, error="BadRequest", message="Secret already exist", legacy=legacy
    )

    status, body, _ = await raw.call(
        "PATCH", f"{base}/NOPE", json={**scope(raw), "secretValue": "x"}
    )
    assert (status, body["message"]) == (404, "Secret not found")

    status, body, _ = await raw.call("GET", f"{base}/DUP", params=scope(raw, env="nope"))
    assert status == 404
    assert body["message"] == "Folder not found for the given environment slug & secret path"

    status, body, _ = await raw.call("POST", f"{base}/X", json={"secretValue": "x"})
    assert status == (401 if legacy else 422)
    assert {tuple(i["path"]) for i in body["message"]} == {(raw.v[2],), ("environment",)}

    status, body, _ = await raw.call(
        "POST", f"{base}/X", json={**scope(raw), "secretValue": "x", "type": "weird"}
    )
    assert status == (401 if legacy else 422)
    assert body["message"][0]["code"] == "invalid_enum_value"

    status, body, _ = await raw.call(
        "POST", f"{base}/X", json={**scope(raw, path="/missing"), "secretValue": "x"}
    )
    assert status == 404

    status, body, _ = await raw.call("GET", base, params={raw.v[2]: raw.info.project_id})
    assert status == 400 and body["message"].startswith("Missing")

    status, body, _ = await raw.call("GET", base, params=scope(raw, recursive="yes"))
    assert status == (401 if legacy else 422)

    status, body, _ = await raw.call("GET", base, params={**scope(raw), raw.v[2]: "not-my-project"})
    assert status == 403


async def test_list_flags_recursion_imports_references_tags(raw: Raw) -> None:
    base, _, project_key = raw.v
    await create(raw, "DB_PASSWORD", "s3cr3t")
    await create(raw, "API_URL", "https://example.invalid/${DB_PASSWORD}")
    folders, folder_project = raw.folders
    status, body, _ = await raw.call(
        "POST",
        folders,
        json={folder_project: raw.info.project_id, "environment": "dev", "name": "app"},
    )
    assert status == 200 and body["folder"]["name"] == "app"
    status, _, _ = await raw.call(
        "POST",
        f"{base}/NESTED",
        json={**scope(raw, path="/app"), "secretValue": "${dev.DB_PASSWORD}-x"},
    )
    assert status == 200

    status, body, _ = await raw.call("GET", base, params=scope(raw))
    by_key = {s["secretKey"]: s for s in body["secrets"]}
    assert set(by_key) == {"DB_PASSWORD", "API_URL"}
    assert by_key["API_URL"]["secretValue"] == "https://example.invalid/${DB_PASSWORD}"
    assert by_key["API_URL"]["secretPath"] == "/" and by_key["API_URL"]["tags"] == []
    assert "imports" not in body

    status, body, _ = await raw.call(
        "GET",
        base,
        params=scope(raw, recursive="true", expandSecretReferences="true", include_imports="true"),
    )
    by_key = {s["secretKey"]: s for s in body["secrets"]}
    assert by_key["API_URL"]["secretValue"] == "https://example.invalid/s3cr3t"
    assert by_key["NESTED"]["secretValue"] == "s3cr3t-x"
    assert by_key["NESTED"]["secretPath"] == "/app"
    assert body["imports"] == []

    # import prod:/ into dev:/app
    status, _, _ = await raw.call(
        "POST", f"{base}/ONLY_PROD", json={**scope(raw, env="prod"), "secretValue": "p"}
    )
    assert status == 200
    status, body, _ = await raw.call(
        "POST",
        "/api/v1/secret-imports",
        json={
            "workspaceId": raw.info.project_id,
            "environment": "dev",
            "path": "/app",
            "import": {"environment": "prod", "path": "/"},
        },
    )
    assert status == 200
    status, body, _ = await raw.call(
        "GET", base, params=scope(raw, path="/app", include_imports="true")
    )
    assert [i["environment"] for i in body["imports"]] == ["prod"]
    assert body["imports"][0]["secrets"][0]["secretKey"] == "ONLY_PROD"
    status, body, _ = await raw.call(
        "GET", f"{base}/ONLY_PROD", params=scope(raw, path="/app", include_imports="true")
    )
    assert status == 200 and body["secret"]["secretValue"] == "p"

    # tags
    status, body, _ = await raw.call(
        "POST",
        f"/api/v1/workspace/{raw.info.project_id}/tags",
        json={"slug": "db", "color": "#fff"},
    )
    tag = body["workspaceTag"]
    status, _, _ = await raw.call(
        "PATCH", f"{base}/DB_PASSWORD", json={**scope(raw), "tagIds": [tag["id"]]}
    )
    assert status == 200
    status, body, _ = await raw.call("GET", base, params=scope(raw, tagSlugs="db"))
    # Every generation applies the filter (the recorded 2024 server does too).
    assert [s["secretKey"] for s in body["secrets"]] == ["DB_PASSWORD"]
    assert body["secrets"][0]["tags"][0]["slug"] == "db"

    # a missing sub-folder lists as empty
    status, body, _ = await raw.call("GET", base, params=scope(raw, path="/nope"))
    assert (status, body["secrets"]) == (200, [])
    assert project_key in ("projectId", "workspaceId")


async def test_personal_secrets_are_separate(raw: Raw) -> None:
    base = raw.v[0]
    await create(raw, "TOKEN", "shared-value")
    await create(raw, "TOKEN", "mine", type="personal")
    status, body, _ = await raw.call("GET", f"{base}/TOKEN", params=scope(raw, type="personal"))
    assert body["secret"]["secretValue"] == "mine" and body["secret"]["type"] == "personal"
    status, body, _ = await raw.call("GET", f"{base}/TOKEN", params=scope(raw))
    assert status == 200 and body["secret"]["secretValue"] == "shared-value"


async def test_batch_routes(raw: Raw) -> None:
    _, batch, _ = raw.v
    secrets = [{"secretKey": "A", "secretValue": "1"}, {"secretKey": "B", "secretValue": "2"}]
    status, body, _ = await raw.call(
        "POST", batch, json={**scope(raw, env="prod"), "secrets": secrets}
    )
    assert status == 200 and [s["secretKey"] for s in body["secrets"]] == ["A", "B"]
    status, body, _ = await raw.call(
        "POST", batch, json={**scope(raw, env="prod"), "secrets": secrets}
    )
    assert status == 400  # any existing key fails the whole call
    status, body, _ = await raw.call(
        "PATCH",
        batch,
        json={
            **scope(raw, env="prod"),
            "mode": "upsert",
            "secrets": [
                {"secretKey": "A", "secretValue": "10"},
                {"secretKey": "C", "secretValue": "3"},
            ],
        },
    )
    if raw.server.config.compat == "2024":  # `mode` ignored: a missing secret fails
        assert (status, body["message"]) == (404, "Secret does not exist: ")
        await raw.call(
            "POST",
            batch,
            json={
                **scope(raw, env="prod"),
                "secrets": [{"secretKey": "C", "secretValue": "3"}],
            },
        )
        status, body, _ = await raw.call(
            "PATCH",
            batch,
            json={
                **scope(raw, env="prod"),
                "secrets": [
                    {"secretKey": "A", "secretValue": "10"},
                    {"secretKey": "C", "secretValue": "3"},
                ],
            },
        )
        assert status == 200
        assert [(s["secretKey"], s["version"]) for s in body["secrets"]] == [("A", 2), ("C", 2)]
    else:
        assert status == 200
        assert [(s["secretKey"], s["version"]) for s in body["secrets"]] == [("A", 2), ("C", 1)]
    status, body, _ = await raw.call(
        "DELETE",
        batch,
        json={**scope(raw, env="prod"), "secrets": [{"secretKey": k} for k in "ABC"]},
    )
    assert status == 200 and len(body["secrets"]) == 3
    status, body, _ = await raw.call("POST", batch, json={**scope(raw), "secrets": []})
    assert body["error"] == "ValidationFailure"


async def test_folders(raw: Raw) -> None:
    project = raw.info.project_id
    folders, key = raw.folders
    for name, path in (("app", "/"), ("db", "/app")):
        status, body, _ = await raw.call(
            "POST",
            folders,
            json={key: project, "environment": "dev", "name": name, "path": path},
        )
        assert status == 200
    status, body, _ = await raw.call(
        "GET", folders, params={key: project, "environment": "dev", "path": "/"}
    )
    assert [f["name"] for f in body["folders"]] == ["app"]
    status, body, _ = await raw.call(
        "GET", folders, params={key: project, "environment": "dev", "recursive": "true"}
    )
    if raw.server.config.compat == "2024":  # v1 lists one level; v2 is not there
        assert [f["name"] for f in body["folders"]] == ["app"]
        assert "description" not in body["folders"][0]
        status, body, _ = await raw.call(
            "GET", "/api/v2/folders", params={"projectId": project, "environment": "dev"}
        )
        assert status == 404 and body["message"].startswith("Route GET:/api/v2/folders?")
    else:
        assert sorted(f["name"] for f in body["folders"]) == ["app", "db"]
    status, body, _ = await raw.call(
        "POST",
        folders,
        json={key: project, "environment": "dev", "name": "bad name"},
    )
    assert body["error"] == "ValidationFailure"
    assert "Invalid folder name" in body["message"][0]["message"]
    status, body, _ = await raw.call(
        "DELETE",
        folders + "/app",
        json={key: project, "environment": "dev", "path": "/"},
    )
    assert status == 200 and body["folder"]["name"] == "app"
    status, body, _ = await raw.call(
        "GET",
        folders,
        params={key: project, "environment": "dev", "path": "/app"},
    )
    assert status == 404


async def test_v4_routes_exist_only_on_current_servers(raw: Raw) -> None:
    status, body, _ = await raw.call(
        "GET", "/api/v4/secrets", params={"projectId": raw.info.project_id, "environment": "dev"}
    )
    if raw.server.config.compat == "2024":
        assert status == 404
        assert body == {
            "message": "Route GET:/api/v4/secrets?projectId="
            f"{raw.info.project_id}&environment=dev not found",
            "error": "Not Found",
            "statusCode": 404,
        }
    else:
        assert status == 200
    status, body, _ = await raw.call("GET", "/api/v1/does-not-exist")
    assert body == {
        "message": "Route GET:/api/v1/does-not-exist not found",
        "error": "Not Found",
        "statusCode": 404,
    }


async def test_change_approval_answers_approval(raw: Raw) -> None:
    raw.server.control.require_approval("dev", "/")
    status, body, _ = await raw.call(
        "POST", f"{raw.v[0]}/HELD", json={**scope(raw), "secretValue": "x"}
    )
    assert status == 200 and set(body) == {"approval"} and body["approval"]["id"]
    status, _, _ = await raw.call("GET", f"{raw.v[0]}/HELD", params=scope(raw))
    assert status == 404  # not written


async def test_projects_routes(raw: Raw) -> None:
    status, body, _ = await raw.call("GET", f"/api/v1/workspace/{raw.info.project_id}")
    assert status == 200
    assert [e["slug"] for e in body["workspace"]["environments"]] == ["dev", "staging", "prod"]
    status, body, _ = await raw.call("GET", f"/api/v1/projects/{raw.info.project_id}")
    if raw.server.config.compat == "2024":
        assert status == 404
    else:
        assert body["project"]["slug"] == "sdk-test-project"
        status, body, _ = await raw.call("GET", "/api/v1/projects/slug/sdk-test-project")
        assert body["id"] == raw.info.project_id
