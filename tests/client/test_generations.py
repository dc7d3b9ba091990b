"""Older servers: each route family's generation is learned once per client, from the
framework's route-404 only; KMS answers are checked field by field."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from infisical_async import (
    AsyncInfisicalClient,
    NotFoundError,
    ResponseValidationError,
    TokenAuth,
    UnprocessableEntityError,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import ServeApp, make_client

OLD_MODES = ["2024", "2025"]


@pytest.mark.parametrize("mode", OLD_MODES)
async def test_each_family_probes_its_missing_route_once(mode: str) -> None:
    async with EmbeddedServer(compat=mode) as server, make_client(server) as client:  # type: ignore[arg-type]
        view = client.with_options(timeout=10)  # a view shares what was learned
        for _ in range(3):
            await client.secrets.list()
            await view.folders.list()
            await client.projects.get()
            await view.projects.get_by_slug(server.info.project_slug)
        await client.folders.create("app")
        await view.folders.delete("app")
        counts = server.control.requests
        # One route-404 per family (secrets, folders, projects), never again.
        assert counts["GET unmatched"] == 3
        assert counts.get("POST unmatched", 0) == counts.get("DELETE unmatched", 0) == 0
        assert counts["GET /api/v1/folders"] == 3
        assert counts["GET /api/v1/workspace/{projectId}"] == 3
        assert counts["GET /api/v2/workspace/{slug}"] == 3
        assert client._state.generations.learned() == {
            "secrets": "v3",
            "folders": "v1",
            "projects": "workspace",
        }


async def test_an_application_404_teaches_nothing(current_server: EmbeddedServer) -> None:
    async with make_client(current_server) as client:
        with pytest.raises(NotFoundError):
            await client.folders.list(secret_path="/no/such/folder")
        with pytest.raises(NotFoundError):
            await client.folders.delete("nope")
        with pytest.raises(NotFoundError):
            await client.projects.get_by_slug("no-such-project")
        with pytest.raises(NotFoundError):
            await client.secrets.get("MISSING")
        assert client._state.generations.learned() == {
            "secrets": "v4",
            "folders": "v2",
            "projects": "projects",
        }
        assert "GET unmatched" not in current_server.control.requests


@pytest.mark.parametrize("mode", OLD_MODES)
async def test_recursive_folder_listing_on_v1_walks_the_tree(mode: str) -> None:
    async with EmbeddedServer(compat=mode) as server, make_client(server) as client:  # type: ignore[arg-type]
        await client.folders.create("a")
        await client.folders.create("b", secret_path="/a")
        await client.folders.create("c", secret_path="/a/b")
        await client.folders.create("d")
        found = {f.name: f.relative_path for f in await client.folders.list(recursive=True)}
        assert found == {"a": "/a", "b": "/a/b", "c": "/a/b/c", "d": "/d"}
        assert [f.name for f in await client.folders.list()] == ["a", "d"]


async def test_a_rename_on_a_server_that_needs_the_value_sends_the_current_one() -> None:
    async with EmbeddedServer(compat="2024") as server, make_client(server) as client:
        await client.secrets.create("A", "value-a")
        await client.secrets.create("B", "${A}-b")
        renamed = await client.secrets.update("A", new_key="A2")
        assert (renamed.key, renamed.value) == ("A2", "value-a")
        assert client._state.generations.rename_needs_value
        server.control.reset_counts()
        # Learned: the next rename reads the (unexpanded) value first, then renames once.
        await client.secrets.update("B", new_key="B2")
        assert (await client.secrets.get("B2", expand_secret_references=False)).value == "${A}-b"
        assert server.control.request_count("PATCH /api/v3/secrets/raw/{name}") == 1
        with pytest.raises(NotFoundError):
            await client.secrets.update("NOPE", new_key="X")


async def test_a_current_server_renames_without_reading_the_value(
    current_server: EmbeddedServer,
) -> None:
    async with make_client(current_server) as client:
        await client.secrets.create("A", "v")
        current_server.control.reset_counts()
        await client.secrets.update("A", new_key="B")
        assert current_server.control.requests == {"PATCH /api/v4/secrets/{name}": 1}
        assert not client._state.generations.rename_needs_value


async def test_validation_failure_answered_with_401_is_unprocessable(
    local_app: ServeApp,
) -> None:
    async def refuse(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "statusCode": 401,
                "message": [
                    {
                        "code": "custom",
                        "message": "TTL must be less than a day",
                        "path": ["maxTTL"],
                    }
                ],
                "error": "ValidationFailure",
            },
            status=401,
        )

    app = web.Application()
    app.router.add_post("/api/v1/kms/keys", refuse)
    url = await local_app(app)
    async with AsyncInfisicalClient(
        site_url=url, auth=TokenAuth(token="t"), project_id="p", max_retries=0
    ) as client:
        with pytest.raises(UnprocessableEntityError) as caught:
            await client.kms.keys.create("k")
    assert caught.value.status_code == 401
    assert caught.value.issues[0]["path"] == ["maxTTL"]
    assert "maxTTL: TTL must be less than a day" in caught.value.message


KEY = {"id": "k1", "name": "key", "isDisabled": False, "projectId": "p", "orgId": "o"}


@pytest.mark.parametrize(
    ("route", "answer", "call", "field"),
    [
        ("decrypt", {"plaintext": None}, "decrypt", "plaintext"),
        ("decrypt", {"plaintext": 12}, "decrypt", "plaintext"),
        ("decrypt", {"plaintext": "not base64!"}, "decrypt", "plaintext"),
        ("encrypt", {"ciphertext": None}, "encrypt", "ciphertext"),
        ("encrypt", {"ciphertext": 12345}, "encrypt", "ciphertext"),
        ("sign", {"signature": None}, "sign", "signature"),
        ("verify", {"signatureValid": "yes"}, "verify", "signatureValid"),
        ("public-key", {"publicKey": None}, "public_key", "publicKey"),
        (
            "signing-algorithms",
            {"signingAlgorithms": [1]},
            "signing_algorithms",
            "signingAlgorithms",
        ),
    ],
)
async def test_kms_answers_are_checked_field_by_field(
    local_app: ServeApp, route: str, answer: dict[str, Any], call: str, field: str
) -> None:
    async def reply(_: web.Request) -> web.Response:
        return web.json_response(answer)

    app = web.Application()
    app.router.add_route("*", f"/api/v1/kms/keys/k1/{route}", reply)
    url = await local_app(app)
    arguments: dict[str, tuple[Any, ...]] = {
        "decrypt": ("ciphertext",),
        "encrypt": (b"data",),
        "sign": (b"data",),
        "verify": (b"data", b"sig"),
        "public_key": (),
        "signing_algorithms": (),
    }
    extra = {"signing_algorithm": "ECDSA_SHA_256"} if call in ("sign", "verify") else {}
    async with AsyncInfisicalClient(
        site_url=url, auth=TokenAuth(token="t"), project_id="p", max_retries=0
    ) as client:
        with pytest.raises(ResponseValidationError) as caught:
            await getattr(client.kms, call)("k1", *arguments[call], **extra)
    assert f"`{field}`" in str(caught.value)
    assert caught.value.errors == [f"$.{field}"]


async def test_kms_key_answers_without_optional_fields_parse(local_app: ServeApp) -> None:
    async def reply(_: web.Request) -> web.Response:
        return web.json_response({"key": {**KEY, "description": None, "slug": None}})

    app = web.Application()
    app.router.add_post("/api/v1/kms/keys", reply)
    url = await local_app(app)
    async with AsyncInfisicalClient(
        site_url=url, auth=TokenAuth(token="t"), project_id="p", max_retries=0
    ) as client:
        key = await client.kms.keys.create("key")
    assert (key.id, key.key_usage, key.encryption_algorithm) == ("k1", None, None)
