"""What the secret routes accept, per API generation (v3 raw, v4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from ._context import Context
from ._secret_writes import check_secret_name
from ._wire import ApiError, F

__all__ = ["Api", "SecretApi", "api_of", "check_project", "secret_api"]

Api = Literal["v3", "v4"]
_TYPE = F("str", default="shared", choices=("shared", "personal"))


def _list_query(api: Api, legacy: bool) -> dict[str, F]:
    schema: dict[str, F] = {
        "environment": F("str"),
        "secretPath": F("str", default="/"),
        "viewSecretValue": F("flag", default=True),
        "expandSecretReferences": F("flag", default=False),
        "recursive": F("flag", default=False),
        "include_imports": F("flag", default=False),
        "tagSlugs": F("str"),
        "metadataFilter": F("str"),
    }
    if api == "v4":
        schema["projectId"] = F("str")
        schema["includeImports"] = F("flag", default=False)
    else:
        schema["workspaceId"] = F("str")
        schema["workspaceSlug"] = F("str")
    if legacy:
        for flag in ("viewSecretValue", "metadataFilter"):
            schema.pop(flag)
    return schema


def _write_schema(api: Api, *, create: bool) -> dict[str, F]:
    schema: dict[str, F] = {
        "environment": F("str", required=True),
        "secretPath": F("str", default="/"),
        "type": _TYPE,
        "secretComment": F("str"),
        "skipMultilineEncoding": F("bool", nullable=True),
        "tagIds": F("list"),
        "secretMetadata": F("list"),
        "secretReminderNote": F("str", nullable=True, max_len=1024, trim=False),
        "secretReminderRepeatDays": F("int", nullable=True),
        "secretValue": F("str", required=create, trim=False),
    }
    if not create:
        schema["newSecretName"] = F("str", min_len=1, check=check_secret_name)
    if api == "v4":
        schema["projectId"] = F("str", required=True)
    else:
        schema["workspaceId"] = F("str", required=True)
    return schema


@dataclass(frozen=True)
class SecretApi:
    """One generation of the secret routes: its paths, project field and schemas."""

    api: Api
    base: str
    batch: str
    project_key: str
    get: dict[str, F]
    create: dict[str, F]
    update: dict[str, F]
    delete: dict[str, F]
    batch_base: dict[str, F]
    batch_create_item: dict[str, F]
    batch_update_item: dict[str, F]
    batch_delete_item: dict[str, F]

    def list_query(self, legacy: bool) -> dict[str, F]:
        return _list_query(self.api, legacy)

    @property
    def project_slug_key(self) -> str | None:
        """The query field naming the project by slug (v3 only)."""
        return "workspaceSlug" if self.api == "v3" else None


def _secret_api(api: Api) -> SecretApi:
    project_key = "projectId" if api == "v4" else "workspaceId"
    get: dict[str, F] = {
        "environment": F("str"),
        "secretPath": F("str", default="/"),
        "version": F("int"),
        "type": _TYPE,
        "expandSecretReferences": F("flag", default=False),
        "include_imports": F("flag", default=False),
        "viewSecretValue": F("flag", default=True),
        project_key: F("str", required=api == "v4"),
    }
    if api == "v3":
        get["workspaceSlug"] = F("str")
    create_item = {
        k: v
        for k, v in _write_schema(api, create=True).items()
        if k not in (project_key, "environment", "secretPath", "type")
    }
    create_item["secretKey"] = F("str", required=True, min_len=1, check=check_secret_name)
    update_item = {
        k: v
        for k, v in _write_schema(api, create=False).items()
        if k not in (project_key, "environment", "type")
    }
    update_item["secretPath"] = F("str")
    update_item["secretKey"] = F("str", required=True, min_len=1)
    return SecretApi(
        api=api,
        base="/api/v4/secrets" if api == "v4" else "/api/v3/secrets/raw",
        batch="/api/v4/secrets/batch" if api == "v4" else "/api/v3/secrets/batch/raw",
        project_key=project_key,
        get=get,
        create=_write_schema(api, create=True),
        update=_write_schema(api, create=False),
        delete={
            project_key: F("str", required=True),
            "environment": F("str", required=True),
            "secretPath": F("str", default="/"),
            "type": _TYPE,
        },
        batch_base={
            project_key: F("str", required=True),
            "environment": F("str", required=True),
            "secretPath": F("str", default="/"),
            "secrets": F("list", required=True, min_len=1),
        },
        batch_create_item=create_item,
        batch_update_item=update_item,
        batch_delete_item={"secretKey": F("str", required=True, min_len=1), "type": _TYPE},
    )


_APIS: dict[Api, SecretApi] = {"v3": _secret_api("v3"), "v4": _secret_api("v4")}


def api_of(request: web.Request) -> SecretApi:
    """The secret-route generation ``request`` was sent to (by its path)."""
    return _APIS["v4" if request.path.startswith("/api/v4/") else "v3"]


def secret_api(api: Api) -> SecretApi:
    return _APIS[api]


def check_project(ctx: Context, api: SecretApi, values: dict[str, Any], *, by_slug: bool) -> str:
    """The project id named in ``values`` (by id, or by slug on v3 reads when allowed)."""
    project_id = values.get(api.project_key)
    slug_key = api.project_slug_key if by_slug else None
    if project_id is None and slug_key and values.get(slug_key) is not None:
        ctx.check_project_slug(values[slug_key])
        return ctx.state.project_id
    if project_id is None:
        raise ApiError(400, "Missing project id", "BadRequest")
    ctx.check_project_id(project_id)
    return str(project_id)
