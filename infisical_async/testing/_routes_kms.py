"""KMS key management: create, list, read, update, delete (generation by generation)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._context import Context, context_of
from ._kms_keys import generate_material, key_json, key_or_404, name_problem
from ._routes_kms_crypto import (
    decrypt,
    encrypt,
    public_key,
    sign,
    signing_algorithms,
    verify,
)
from ._state import KmsKey, new_id, now_utc
from ._wire import ApiError, F, validate

__all__ = ["add_kms_routes"]

_BASE = "/api/v1/kms/keys"


def _create_fields(ctx: Context) -> dict[str, F]:
    return (
        {  # the 2024 server knew only symmetric keys
            "encryptionAlgorithm": F(
                "str", default="aes-256-gcm", choices=("aes-256-gcm", "aes-128-gcm")
            )
        }
        if ctx.legacy
        else {
            "keyUsage": F(
                "str", default="encrypt-decrypt", choices=("encrypt-decrypt", "sign-verify")
            ),
            "encryptionAlgorithm": F("str", default="aes-256-gcm"),
        }
    )


async def create(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    body = validate(
        await ctx.body(request),
        {
            "projectId": F("str", required=True),
            "name": F("str", required=True, check=name_problem),
            "description": F("str", max_len=500),
            **_create_fields(ctx),
        },
    )
    body.setdefault("keyUsage", "encrypt-decrypt")
    ctx.check_project_id(body["projectId"])
    if any(
        k.name == body["name"] and k.project_id == body["projectId"]
        for k in ctx.state.kms_keys.values()
    ):
        raise ApiError(400, "A KMS key with this name already exists", "BadRequest")
    material = generate_material(body["keyUsage"], body["encryptionAlgorithm"])
    key = KmsKey(
        id=new_id(),
        name=body["name"],
        project_id=body["projectId"],
        key_usage=body["keyUsage"],
        algorithm=body["encryptionAlgorithm"],
        material=material,
        description=body.get("description"),
    )
    ctx.state.kms_keys[key.id] = key
    return ctx.json({"key": key_json(ctx, key)})


async def list_keys(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    q = validate(
        request.query,
        {
            "projectId": F("str", required=True),
            "offset": F("int", default=0),
            "limit": F("int", default=100),
            "orderBy": F("str", default="name"),
            "orderDirection": F("str", default="asc", choices=("asc", "desc")),
            "search": F("str"),
        },
        query=True,
    )
    ctx.check_project_id(q["projectId"])
    if not 1 <= q["limit"] <= 100:
        raise ApiError(
            422,
            [
                {
                    "code": "too_big",
                    "path": ["limit"],
                    "message": "Number must be between 1 and 100",
                }
            ],
            "ValidationFailure",
        )
    found = [
        k
        for k in ctx.state.kms_keys.values()
        if k.project_id == q["projectId"] and (not q.get("search") or q["search"] in k.name)
    ]
    found.sort(key=lambda k: k.name, reverse=q["orderDirection"] == "desc")
    page = found[q["offset"] : q["offset"] + q["limit"]]
    return ctx.json(
        {"keys": [key_json(ctx, k, listed=True) for k in page], "totalCount": len(found)}
    )


async def get_key(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    return ctx.json({"key": key_json(ctx, key_or_404(ctx, request))})


async def get_by_name(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    q = validate(request.query, {"projectId": F("str", required=True)}, query=True)
    name = request.match_info["keyName"]
    key = next(
        (
            k
            for k in ctx.state.kms_keys.values()
            if k.name == name and k.project_id == q["projectId"]
        ),
        None,
    )
    if key is None:
        raise ApiError(404, f"Key with name {name} not found", "NotFound")
    return ctx.json({"key": key_json(ctx, key)})


async def update(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request)
    body = validate(
        await ctx.body(request),
        {
            "name": F("str", check=name_problem),
            "isDisabled": F("bool"),
            "description": F("str", max_len=500),
        },
    )
    if body.get("name"):
        key.name = body["name"]
    if body.get("isDisabled") is not None:
        key.is_disabled = body["isDisabled"]
    if body.get("description") is not None:
        key.description = body["description"]
    key.updated_at = now_utc()
    return ctx.json({"key": key_json(ctx, key)})


async def delete(request: web.Request) -> web.Response:
    ctx = context_of(request)
    ctx.authenticate(request)
    key = key_or_404(ctx, request)
    del ctx.state.kms_keys[key.id]
    return ctx.json({"key": key_json(ctx, key)})


async def wrong_project_type(request: web.Request) -> web.Response:
    # June 2025: KMS lives in projects of type `kms`; the embedded project is a
    # secret manager, as the recorded server's was.
    ctx = context_of(request)
    ctx.authenticate(request)
    raise ApiError(
        400,
        "The project is of type secret-manager. Operations of type kms are not allowed",
        "BadRequest",
    )


def add_kms_routes(app: web.Application, ctx: Context) -> None:
    routes: list[tuple[str, str, Any]] = [
        ("POST", _BASE, create),
        ("GET", _BASE, list_keys),
        ("PATCH", _BASE + "/{keyId}", update),
        ("DELETE", _BASE + "/{keyId}", delete),
        ("POST", _BASE + "/{keyId}/encrypt", encrypt),
        ("POST", _BASE + "/{keyId}/decrypt", decrypt),
    ]
    if not ctx.legacy:  # the October-2024 server had only the routes above
        routes += [
            ("GET", _BASE + "/key-name/{keyName}", get_by_name),
            ("GET", _BASE + "/{keyId}", get_key),
            ("POST", _BASE + "/{keyId}/sign", sign),
            ("POST", _BASE + "/{keyId}/verify", verify),
            ("GET", _BASE + "/{keyId}/public-key", public_key),
            ("GET", _BASE + "/{keyId}/signing-algorithms", signing_algorithms),
        ]
    for method, path, handler in routes:
        app.router.add_route(
            method, path, wrong_project_type if ctx.config.compat == "2025" else handler
        )
