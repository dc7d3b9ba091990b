"""Secrets and folders through the client, over loopback, on both server generations."""

from __future__ import annotations

import asyncio

import pytest

from infisical_async import (
    ApprovalRequiredError,
    AsyncInfisicalClient,
    BadRequestError,
    InternalServerError,
    InvalidArgumentError,
    MissingArgumentError,
    NewSecret,
    NotFoundError,
    SecretUpdate,
)
from infisical_async.testing import EmbeddedServer

from ..conftest import make_client


async def test_crud_round_trip(client: AsyncInfisicalClient) -> None:
    created = await client.secrets.create("DATABASE_URL", "  postgres://x  ", comment="db")
    assert (created.key, created.value, created.version) == ("DATABASE_URL", "postgres://x", 1)
    fetched = await client.secrets.get("DATABASE_URL")
    assert fetched.value == "postgres://x" and fetched.comment == "db"
    updated = await client.secrets.update("DATABASE_URL", value="v2", new_key="DB_URL")
    assert (updated.key, updated.value, updated.version) == ("DB_URL", "v2", 2)
    listing = await client.secrets.list()
    assert listing.to_dict() == {"DB_URL": "v2"} and len(listing) == 1
    deleted = await client.secrets.delete("DB_URL")
    assert deleted.key == "DB_URL"
    with pytest.raises(NotFoundError) as caught:
        await client.secrets.delete("DB_URL")
    assert caught.value.status_code == 404 and caught.value.message == "Secret not found"


async def test_duplicate_create_is_bad_request(client: AsyncInfisicalClient) -> None:
    await client.secrets.create("DUP", "1")
    with pytest.raises(BadRequestError) as caught:
        await client.secrets.create("DUP", "2")
    assert caught.value.message == "Secret already exist"


async def test_paths_references_imports_and_recursion(client: AsyncInfisicalClient) -> None:
    await client.folders.create("app")
    await client.folders.create("app", environment="staging")
    await client.secrets.create("PASSWORD", "pw")
    await client.secrets.create("URL", "db://${PASSWORD}@host", secret_path="/app")
    await client.secrets.create("URL", "db://local", secret_path="/app", environment="staging")

    raw = await client.secrets.get("URL", secret_path="/app", expand_secret_references=False)
    assert raw.value == "db://${PASSWORD}@host"
    everything = await client.secrets.list(recursive=True)
    assert {(s.key, s.secret_path) for s in everything} == {("PASSWORD", "/"), ("URL", "/app")}
    staging = await client.secrets.get("URL", secret_path="/app", environment="staging")
    assert staging.value == "db://local"
    folders = await client.folders.list()
    assert [f.name for f in folders] == ["app"]
    await client.folders.delete("app")
    with pytest.raises(NotFoundError):
        await client.secrets.get("URL", secret_path="/app")


async def test_batch_operations(client: AsyncInfisicalClient, compat: str) -> None:
    created = await client.secrets.batch_create({"A": "1", "B": "2"})
    assert [s.key for s in created] == ["A", "B"]
    created = await client.secrets.batch_create([NewSecret(key="C", value="3", comment="c")])
    assert created[0].comment == "c"
    if compat == "2024":  # that server ignores `mode`: a missing secret fails the batch
        with pytest.raises(NotFoundError):
            await client.secrets.batch_update([SecretUpdate(key="D", value="4")], mode="upsert")
        await client.secrets.create("D", "0")
    updated = await client.secrets.batch_update(
        [SecretUpdate(key="A", value="10"), SecretUpdate(key="D", value="4")], mode="upsert"
    )
    assert [(s.key, s.value) for s in updated] == [("A", "10"), ("D", "4")]
    deleted = await client.secrets.batch_delete(["A", "B", "C", "D"])
    assert len(deleted) == 4
    assert len(await client.secrets.list()) == 0


async def test_batch_update_renames_with_new_key(client: AsyncInfisicalClient) -> None:
    await client.secrets.create("OLD", "1")
    # The same name as secrets.update(new_key=); a value too, as October-2024 servers need.
    updated = await client.secrets.batch_update([SecretUpdate(key="OLD", new_key="NEW", value="1")])
    assert [(s.key, s.value) for s in updated] == [("NEW", "1")]
    assert [s.key for s in await client.secrets.list()] == ["NEW"]


async def test_v3_fallback_happens_once_and_is_remembered(compat: str) -> None:
    async with EmbeddedServer(compat=compat) as server, make_client(server) as client:  # type: ignore[arg-type]
        for _ in range(3):
            await client.secrets.list()
        await client.secrets.create("K", "v")
        counts = server.control.requests
        if compat == "2024":
            assert counts["GET unmatched"] == 1  # the one v4 probe
            assert counts["GET /api/v3/secrets/raw"] == 3
            assert counts["POST /api/v3/secrets/raw/{name}"] == 1
        else:
            assert counts["GET /api/v4/secrets"] == 3
            assert not any("v3" in route or "unmatched" in route for route in counts)


async def test_secret_not_found_is_not_mistaken_for_a_missing_route(
    client: AsyncInfisicalClient, compat: str
) -> None:
    with pytest.raises(NotFoundError):
        await client.secrets.get("MISSING")
    # Only a "Route ... not found" answer switches to v3; a missing secret does not.
    expected = "v4" if compat == "current" else "v3"
    assert client._state.generations.current("secrets") == expected


async def test_approval_is_typed(server: EmbeddedServer) -> None:
    server.control.require_approval("dev", "/")
    async with make_client(server) as client:
        with pytest.raises(ApprovalRequiredError) as caught:
            await client.secrets.create("HELD", "x")
        assert caught.value.approval.id


async def test_missing_scope_is_refused_before_sending(server: EmbeddedServer) -> None:
    async with AsyncInfisicalClient(site_url=server.info.site_url) as client:
        with pytest.raises(MissingArgumentError) as caught:
            await client.secrets.list(environment="dev")
        assert caught.value.argument == "project_id"
        with pytest.raises(MissingArgumentError) as caught:
            await client.secrets.get("X", project_id="p")
        assert caught.value.argument == "environment"
    assert server.control.requests == {}


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.secrets.get(""), "key"),
        (lambda c: c.secrets.get("a/b"), "key"),
        (lambda c: c.secrets.create("OK", 5), "value"),
        (lambda c: c.secrets.list(secret_path="relative"), "secret_path"),
        (lambda c: c.secrets.list(secret_path="/a/../b"), "secret_path"),
        (lambda c: c.secrets.list(recursive="yes"), "recursive"),
        (lambda c: c.secrets.get("X", type="team"), "type"),
        (lambda c: c.secrets.get("X", version=0), "version"),
        (lambda c: c.secrets.batch_delete([]), "keys"),
        (lambda c: c.folders.create("bad name"), "name"),
    ],
)
async def test_bad_input_names_the_argument(
    current_server: EmbeddedServer, call: object, argument: str
) -> None:
    async with make_client(current_server) as client:
        with pytest.raises(InvalidArgumentError) as caught:
            await call(client)  # type: ignore[operator]
        assert caught.value.argument == argument
        assert isinstance(caught.value, ValueError)
    assert current_server.control.requests == {}


async def test_cache_serves_hits_and_writes_invalidate(current_server: EmbeddedServer) -> None:
    server = current_server
    async with make_client(server, cache_ttl=60) as client:
        await client.secrets.create("K", "v1")
        server.control.reset_counts()
        for _ in range(5):
            assert (await client.secrets.get("K")).value == "v1"
        assert server.control.request_count("GET /api/v4/secrets/{name}") == 1
        assert (await client.secrets.get("K", version=1)).value == "v1"  # another key
        assert server.control.request_count("GET /api/v4/secrets/{name}") == 2
        await client.secrets.update("K", value="v2")
        assert (await client.secrets.get("K")).value == "v2"
        await client.secrets.list()
        await client.secrets.list()
        assert server.control.request_count("GET /api/v4/secrets") == 1


async def test_personal_secret(client: AsyncInfisicalClient) -> None:
    await client.secrets.create("T", "shared")
    await client.secrets.create("T", "mine", type="personal")
    assert (await client.secrets.get("T", type="personal")).value == "mine"
    assert (await client.secrets.get("T")).value == "shared"


async def test_project_lookup(client: AsyncInfisicalClient) -> None:
    project = await client.projects.get()
    assert project.slug == "sdk-test-project"
    assert [e.slug for e in project.environments] == ["dev", "staging", "prod"]


async def test_stale_if_error_serves_an_old_answer_during_an_outage(
    current_server: EmbeddedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = current_server
    async with make_client(
        server, cache_ttl=0.2, stale_if_error=60, retry_delay=0.01, max_retries=1
    ) as client:
        await client.secrets.create("K", "v1")
        assert (await client.secrets.get("K")).value == "v1"
        assert len(await client.secrets.list()) == 1
        await asyncio.sleep(0.25)  # past cache_ttl: fresh answers needed
        server.control.fail_next(10, status=503, path="^/api/v4/secrets")
        assert (await client.secrets.get("K")).value == "v1"
        assert len(await client.secrets.list()) == 1
        assert "serving a cached answer" in caplog.text and "v1" not in caplog.text
        server.control.clear_faults()
        await client.secrets.update("K", value="v2")  # our own write drops stale copies too
        server.control.fail_next(10, status=503, path="^/api/v4/secrets/K")
        with pytest.raises(InternalServerError):
            await client.secrets.get("K")
    server.control.clear_faults()
    async with make_client(server, cache_ttl=0.2, retry_delay=0.01, max_retries=1) as plain:
        await plain.secrets.get("K")
        await asyncio.sleep(0.25)
        server.control.fail_next(10, status=503, path="^/api/v4/secrets/K")
        with pytest.raises(InternalServerError):
            await plain.secrets.get("K")
    with pytest.raises(InvalidArgumentError):
        make_client(server, stale_if_error=10)  # needs the cache on
