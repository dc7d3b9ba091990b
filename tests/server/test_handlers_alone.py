"""Server helpers and handlers exercised alone: no listener, no HTTP round trip."""

from __future__ import annotations

import json

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from infisical_async.testing._context import CONTEXT_KEY, Context, ServerConfig
from infisical_async.testing._faults import FaultPlan
from infisical_async.testing._routes_auth import renew_current, renew_legacy
from infisical_async.testing._routes_secrets import get_secret
from infisical_async.testing._secret_reads import require_folder, resolve_references, secret_json
from infisical_async.testing._secret_writes import create_secret_record, update_secret_record
from infisical_async.testing._state import SecretChange, ServerState, TokenRecord
from infisical_async.testing._wire import ApiError


def make_context(compat: str = "current") -> Context:
    state = ServerState(
        client_id=None, client_secret=None, access_token_ttl=60, access_token_max_ttl=600
    )
    return Context(state, ServerConfig(compat=compat), FaultPlan())  # type: ignore[arg-type]


def put(ctx: Context, env: str, path: str, key: str, value: str) -> None:
    ctx.state.ensure_folder(env, path)
    create_secret_record(ctx.state, env, path, key, {"secretValue": value})


def test_references_resolve_across_folders_and_environments() -> None:
    ctx = make_context()
    put(ctx, "dev", "/", "HOST", "db.local")
    put(ctx, "prod", "/app/db", "PORT", "5432")
    put(ctx, "dev", "/", "URL", "pg://${HOST}:${prod.app.db.PORT}/${MISSING}")
    put(ctx, "dev", "/", "LOOP", "<${LOOP}>")
    state = ctx.state
    assert resolve_references(state, "${URL}", "dev", "/") == "pg://db.local:5432/"
    assert resolve_references(state, "no references", "dev", "/") == "no references"
    # A self-reference stops after ten levels instead of recursing forever.
    assert resolve_references(state, "${LOOP}", "dev", "/") == "<" * 11 + "${LOOP}" + ">" * 11


def test_secret_json_follows_the_server_generation() -> None:
    for compat, present, absent in (
        ("current", {"secretValueHidden", "secretMetadata"}, {"metadata"}),
        ("2024", {"metadata"}, {"secretValueHidden", "secretMetadata"}),
    ):
        ctx = make_context(compat)
        put(ctx, "dev", "/", "KEY", "v")
        record = ctx.state.secrets[("dev", "/")][("KEY", "shared", None)]
        data = secret_json(ctx, record, hidden=True, with_path=True)
        assert data["secretValue"] == "<hidden-by-infisical>" and data["secretPath"] == "/"
        assert present <= set(data) and not absent & set(data)


def test_missing_folders_are_reported_as_each_generation_did() -> None:
    with pytest.raises(ApiError) as current:
        require_folder(make_context("current"), "dev", "/nope")
    assert current.value.message == (
        "Folder with path '/nope' in environment with slug 'dev' not found"
    )
    with pytest.raises(ApiError) as legacy:
        require_folder(make_context("2024"), "dev", "/nope")
    assert legacy.value.message == ("Folder not found for the given environment slug & secret path")
    with pytest.raises(ApiError):
        require_folder(make_context(), "qa", "/")  # no such environment


def test_updates_version_rename_and_announce_secrets() -> None:
    ctx = make_context()
    put(ctx, "dev", "/", "A", "1")
    put(ctx, "dev", "/", "B", "2")
    seen: list[SecretChange] = []
    ctx.state.add_secret_listener(seen.append)
    record = ctx.state.secrets[("dev", "/")][("A", "shared", None)]
    update_secret_record(ctx.state, record, {"secretValue": " 3 \n", "newSecretName": "C"})
    assert (record.key, record.value, record.version) == ("C", "3\n", 2)
    assert [v.value for v in record.history] == ["1", "3\n"]
    assert seen == [SecretChange("dev", "/", "C", "updated", "shared", previous_key="A")]
    with pytest.raises(ApiError, match="new name already exist"):
        update_secret_record(ctx.state, record, {"newSecretName": "B"})


def test_token_renewal_rules_alone() -> None:
    record = TokenRecord(
        id="t", identity_id="i", created_at=0.0, last_renewed_at=0.0, ttl=60, max_ttl=100
    )
    assert renew_current(record, None, now=70.0) == 30  # capped by what is left of max TTL
    with pytest.raises(ApiError, match="reached its max TTL"):
        renew_current(record, None, now=100.0)
    old = TokenRecord(
        id="t", identity_id="i", created_at=0.0, last_renewed_at=0.0, ttl=60, max_ttl=100
    )
    with pytest.raises(ApiError, match="past its Max TTL"):
        renew_legacy(old, None, now=50.0)  # 50 + 60 > 100: the 2024 server deleted it
    assert old.revoked


async def test_a_handler_answers_a_request_built_by_hand() -> None:
    ctx = make_context()
    put(ctx, "dev", "/app", "GREETING", "hello ${NAME}")
    put(ctx, "dev", "/app", "NAME", "world")
    state = ctx.state
    token = state.sign_token(state.issue_token(state.identity, ttl=0, max_ttl=0), None)
    app = web.Application()
    app[CONTEXT_KEY] = ctx
    request = make_mocked_request(
        "GET",
        f"/api/v4/secrets/GREETING?projectId={state.project_id}&environment=dev"
        "&secretPath=/app&expandSecretReferences=true",
        headers={"Authorization": f"Bearer {token}"},
        match_info={"name": "GREETING"},
        app=app,
    )
    response = await get_secret(request)
    assert isinstance(response.body, bytes)
    secret = json.loads(response.body)["secret"]
    assert (secret["secretKey"], secret["secretValue"]) == ("GREETING", "hello world")

    unauthenticated = make_mocked_request(
        "GET", "/api/v4/secrets/GREETING", match_info={"name": "GREETING"}, app=app
    )
    with pytest.raises(ApiError) as refused:
        await get_secret(unauthenticated)
    assert (refused.value.status, refused.value.message) == (401, "Token missing")
