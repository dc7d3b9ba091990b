"""Every secret write is announced once through ServerState.notify_secret_change."""

from __future__ import annotations

from infisical_async.testing._state import SecretChange

from .conftest import Raw


async def test_every_secret_write_is_announced(raw: Raw) -> None:
    seen: list[SecretChange] = []
    remove = raw.server.state.add_secret_listener(seen.append)
    base, batch, project_key = raw.v
    where = {project_key: raw.info.project_id, "environment": "dev"}

    raw.server.control.seed({"SEEDED": "1"}, path="/app")
    raw.server.control.seed({"SEEDED": "2"}, path="/app")
    status, _, _ = await raw.call(
        "POST", f"{base}/ONE", json={**where, "secretPath": "/", "secretValue": "1"}
    )
    assert status == 200
    rename = {**where, "secretPath": "/", "newSecretName": "TWO", "secretValue": "2"}
    status, _, _ = await raw.call("PATCH", f"{base}/ONE", json=rename)
    assert status == 200
    status, _, _ = await raw.call(
        "POST",
        batch,
        json={**where, "secretPath": "/", "secrets": [{"secretKey": "B", "secretValue": "b"}]},
    )
    assert status == 200
    status, _, _ = await raw.call(
        "DELETE", batch, json={**where, "secretPath": "/", "secrets": [{"secretKey": "B"}]}
    )
    assert status == 200
    status, _, _ = await raw.call("DELETE", f"{base}/TWO", json={**where, "secretPath": "/"})
    assert status == 200
    folders, folder_key = raw.folders
    status, _, _ = await raw.call(
        "DELETE",
        f"{folders}/app",
        json={folder_key: raw.info.project_id, "environment": "dev", "path": "/"},
    )
    assert status == 200

    assert [(c.env, c.path, c.key, c.kind, c.previous_key) for c in seen] == [
        ("dev", "/app", "SEEDED", "created", None),
        ("dev", "/app", "SEEDED", "updated", None),
        ("dev", "/", "ONE", "created", None),
        ("dev", "/", "TWO", "updated", "ONE"),
        ("dev", "/", "B", "created", None),
        ("dev", "/", "B", "deleted", None),
        ("dev", "/", "TWO", "deleted", None),
        ("dev", "/app", "SEEDED", "deleted", None),  # removed with its folder
    ]
    remove()
    raw.server.control.seed({"AFTER": "x"})
    assert len(seen) == 8  # a removed listener hears nothing more
