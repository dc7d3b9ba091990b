"""Secrets (v3 raw and v4), secret imports and tags."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from aiohttp import web

from ._context import Context, normalize_path
from ._state import (
    ImportRecord,
    SecretChange,
    SecretRecord,
    SecretVersion,
    iso,
    new_id,
    now_utc,
)
from ._wire import ApiError, F, validate, validation_error

__all__ = ["add_secret_routes"]

Api = Literal["v3", "v4"]
_REFERENCE = re.compile(r"\$\{([^}]+)\}")
_TYPE = F("str", default="shared", choices=("shared", "personal"))


def _name_check(value: str) -> str | None:
    if ":" in value or "/" in value:
        return "Secret name cannot contain colon or forward slash."
    return None


def normalize_value(value: str) -> str:
    """The server trims values, keeping one trailing newline if there was one."""
    return value.strip() + ("\n" if value.endswith("\n") else "")


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
        schema["newSecretName"] = F("str", min_len=1, check=_name_check)
    if api == "v4":
        schema["projectId"] = F("str", required=True)
    else:
        schema["workspaceId"] = F("str", required=True)
    return schema


def add_secret_routes(app: web.Application, ctx: Context, api: Api) -> None:
    state = ctx.state
    base = "/api/v4/secrets" if api == "v4" else "/api/v3/secrets/raw"
    batch = "/api/v4/secrets/batch" if api == "v4" else "/api/v3/secrets/batch/raw"
    project_key = "projectId" if api == "v4" else "workspaceId"

    def project_of(values: dict[str, Any], *, allow_slug: str | None = None) -> str:
        project_id = values.get(project_key)
        if project_id is None and allow_slug and values.get(allow_slug) is not None:
            ctx.check_project_slug(values[allow_slug])
            return state.project_id
        if project_id is None:
            raise ApiError(400, "Missing project id", "BadRequest")
        ctx.check_project_id(project_id)
        return str(project_id)

    def folder_or_404(env: str, path: str) -> None:
        ctx.check_environment(env)
        if state.folder(env, path) is None:
            if not ctx.current:  # recorded on the 2024 server (V5)
                raise ApiError(
                    404, "Folder not found for the given environment slug & secret path", "NotFound"
                )
            raise ApiError(
                404,
                f"Folder with path '{path}' in environment with slug '{env}' not found",
                "NotFound",
            )

    def find(env: str, path: str, key: str, secret_type: str) -> SecretRecord | None:
        owner = state.identity.id if secret_type == "personal" else None
        return state.secrets.get((env, path), {}).get((key, secret_type, owner))

    def visible(env: str, path: str) -> Iterable[SecretRecord]:
        me = state.identity.id
        for record in state.secrets.get((env, path), {}).values():
            if record.owner_id is None or record.owner_id == me:
                yield record

    def resolve(value: str, env: str, path: str, depth: int = 0) -> str:
        if depth > 10 or "${" not in value:
            return value

        def substitute(match: re.Match[str]) -> str:
            parts = match.group(1).strip().split(".")
            if len(parts) == 1:
                ref_env, ref_path, key = env, path, parts[0]
            else:
                ref_env, ref_path, key = parts[0], "/" + "/".join(parts[1:-1]), parts[-1]
                ref_path = normalize_path(ref_path)
            ref = find(ref_env, ref_path, key, "shared")
            return "" if ref is None else resolve(ref.value, ref_env, ref_path, depth + 1)

        return _REFERENCE.sub(substitute, value)

    def secret_json(
        record: SecretRecord,
        *,
        value: str | None = None,
        with_path: bool = False,
        with_tags: bool = False,
        hidden: bool = False,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": record.id,
            "_id": record.id,
            "workspace": state.project_id,
            "environment": record.env,
            "version": record.version,
            "type": record.type,
            "secretKey": record.key,
            "secretValue": "<hidden-by-infisical>"
            if hidden
            else (record.value if value is None else value),
            "secretComment": record.comment,
            "secretReminderNote": record.reminder_note,
            "secretReminderRepeatDays": record.reminder_repeat_days,
            "skipMultilineEncoding": record.skip_multiline_encoding,
            "createdAt": iso(record.created_at),
            "updatedAt": iso(record.updated_at),
        }
        if ctx.legacy:
            data["metadata"] = None
        else:
            data["secretValueHidden"] = hidden
            data["secretMetadata"] = record.metadata
        if with_path:
            data["secretPath"] = record.path
        if with_tags:
            data["tags"] = [state.tags[t] for t in record.tag_ids if t in state.tags]
        return data

    def subfolders(env: str, path: str) -> list[str]:
        prefix = "/" if path == "/" else path + "/"
        return sorted(
            p for (e, p) in state.folders if e == env and p != path and p.startswith(prefix)
        )

    def imports_json(env: str, path: str, expand: bool) -> list[dict[str, Any]]:
        result = []
        for imp in sorted(state.imports, key=lambda i: i.position):
            if imp.env != env or imp.path != path:
                continue
            folder = state.folder(imp.import_env, imp.import_path)
            items = []
            for record in visible(imp.import_env, imp.import_path):
                value = resolve(record.value, imp.import_env, imp.import_path) if expand else None
                item = secret_json(record, value=value)
                item.pop("createdAt")
                item.pop("updatedAt")
                item["secretValueHidden"] = False
                items.append(item)
            result.append(
                {
                    "secretPath": imp.import_path,
                    "environment": imp.import_env,
                    "folderId": folder.id if folder else None,
                    "secrets": items,
                }
            )
        return result

    async def list_secrets(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(request.query, _list_query(api, ctx.legacy), query=True)
        env = q.get("environment")
        has_project = q.get(project_key) is not None or (api == "v3" and q.get("workspaceSlug"))
        if not has_project or not env:
            what = "project id" if api == "v4" else "workspace id"
            raise ApiError(400, f"Missing {what} or environment", "BadRequest")
        project_of(q, allow_slug="workspaceSlug" if api == "v3" else None)
        path = normalize_path(q["secretPath"])
        wants_imports = q["include_imports"] or q.get("includeImports")
        if not ctx.current and state.folder(env, path) is None:
            # The 2024 and June-2025 servers list an unknown environment or folder as empty.
            return ctx.json({"secrets": [], "imports": []} if wants_imports else {"secrets": []})
        ctx.check_environment(env)
        paths = [path] + (subfolders(env, path) if q["recursive"] else [])
        tag_slugs = {s.strip() for s in (q.get("tagSlugs") or "").split(",") if s.strip()}
        tag_ids = {t["id"] for t in state.tags.values() if t["slug"] in tag_slugs}
        hidden = not q.get("viewSecretValue", True)
        secrets_out = []
        for folder_path in paths:
            for record in visible(env, folder_path):
                if tag_slugs and not tag_ids.intersection(record.tag_ids):
                    continue
                value = (
                    resolve(record.value, env, folder_path) if q["expandSecretReferences"] else None
                )
                item = secret_json(
                    record, value=value, with_path=True, with_tags=True, hidden=hidden
                )
                secrets_out.append(item)
        payload: dict[str, Any] = {"secrets": secrets_out}
        if wants_imports:
            payload["imports"] = imports_json(env, path, q["expandSecretReferences"])
        return ctx.json(payload)

    get_schema: dict[str, F] = {
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
        get_schema["workspaceSlug"] = F("str")

    async def get_secret(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        name = request.match_info["name"].strip()
        q = validate(request.query, get_schema, query=True)
        project_of(q, allow_slug="workspaceSlug" if api == "v3" else None)
        env = q.get("environment")
        if not env:
            raise ApiError(400, "Missing environment", "BadRequest")
        path = normalize_path(q["secretPath"])
        folder_or_404(env, path)
        record = find(env, path, name, q["type"])
        source_env, source_path = env, path
        if record is None and q["include_imports"]:
            for imp in sorted(state.imports, key=lambda i: -i.position):
                if imp.env == env and imp.path == path:
                    record = find(imp.import_env, imp.import_path, name, "shared")
                    if record is not None:
                        source_env, source_path = imp.import_env, imp.import_path
                        break
        if record is None:
            raise ApiError(404, "Secret not found", "NotFound")
        value = record.value
        if q.get("version") is not None and not ctx.legacy:
            # (The 2024 server ignored `version` on the raw route and returned the latest.)
            old = next((v for v in record.history if v.version == q["version"]), None)
            if old is None:
                raise ApiError(404, "Secret version not found", "NotFound")
            value = old.value
        if q["expandSecretReferences"]:
            value = resolve(value, source_env, source_path)
        data = secret_json(record, value=value, with_tags=True, hidden=not q["viewSecretValue"])
        if not ctx.legacy:
            data["secretPath"] = record.path
        return ctx.json({"secret": data})

    def approval_or_none(env: str, path: str) -> web.Response | None:
        if (env, path) not in state.approval_paths:
            return None
        return ctx.json(
            {
                "approval": {
                    "id": new_id(),
                    "policyId": new_id(),
                    "status": "open",
                    "slug": "approval",
                    "createdAt": iso(now_utc()),
                    "updatedAt": iso(now_utc()),
                }
            }
        )

    def check_tags(tag_ids: list[Any] | None) -> list[str]:
        if not tag_ids:
            return []
        missing = [t for t in tag_ids if t not in state.tags]
        if missing:
            raise ApiError(400, "One or more tags not found", "BadRequest")
        return [str(t) for t in tag_ids]

    def create_record(env: str, path: str, key: str, fields: dict[str, Any]) -> SecretRecord:
        secret_type = fields.get("type") or "shared"
        if find(env, path, key, secret_type) is not None:
            raise ApiError(400, "Secret already exist", "BadRequest")
        value = normalize_value(fields["secretValue"])
        comment = fields.get("secretComment") or ""
        record = SecretRecord(
            id=new_id(),
            key=key,
            env=env,
            path=path,
            type=secret_type,
            owner_id=state.identity.id if secret_type == "personal" else None,
            value=value,
            comment=comment,
            tag_ids=check_tags(fields.get("tagIds")),
            metadata=fields.get("secretMetadata") or [],
            reminder_note=fields.get("secretReminderNote"),
            reminder_repeat_days=fields.get("secretReminderRepeatDays"),
            skip_multiline_encoding=bool(fields.get("skipMultilineEncoding")),
            history=[SecretVersion(1, value, comment)],
        )
        state.put_secret(record)
        return record

    def update_record(record: SecretRecord, fields: dict[str, Any]) -> None:
        new_name = fields.get("newSecretName")
        previous_key = None
        if new_name and new_name != record.key:
            if find(record.env, record.path, new_name, record.type) is not None:
                raise ApiError(400, "Secret with the new name already exist", "BadRequest")
            previous_key = record.key
            state.rename_secret(record, new_name)
        if fields.get("secretValue") is not None:
            record.value = normalize_value(fields["secretValue"])
        if fields.get("secretComment") is not None:
            record.comment = fields["secretComment"]
        if fields.get("tagIds") is not None:
            record.tag_ids = check_tags(fields["tagIds"])
        if fields.get("secretMetadata") is not None:
            record.metadata = fields["secretMetadata"]
        if fields.get("skipMultilineEncoding") is not None:
            record.skip_multiline_encoding = fields["skipMultilineEncoding"]
        for wire, attr in (
            ("secretReminderNote", "reminder_note"),
            ("secretReminderRepeatDays", "reminder_repeat_days"),
        ):
            if wire in fields and fields[wire] is not None:
                setattr(record, attr, fields[wire])
        record.version += 1
        record.updated_at = now_utc()
        record.history.append(SecretVersion(record.version, record.value, record.comment))
        state.notify_secret_change(
            SecretChange(record.env, record.path, record.key, "updated", record.type, previous_key)
        )

    def name_of(request: web.Request) -> str:
        name = request.match_info["name"].strip()
        problem = _name_check(name)
        if problem:
            raise validation_error([{"code": "custom", "path": ["secretName"], "message": problem}])
        return name

    async def create_secret(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        name = name_of(request)
        body = validate(await ctx.body(request), _write_schema(api, create=True))
        project_of(body)
        env, path = body["environment"], normalize_path(body["secretPath"])
        folder_or_404(env, path)
        pending = approval_or_none(env, path)
        if pending is not None:
            return pending
        record = create_record(env, path, name, body)
        return ctx.json({"secret": secret_json(record)})

    async def update_secret(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        name = request.match_info["name"].strip()
        body = validate(await ctx.body(request), _write_schema(api, create=False))
        if ctx.legacy and body.get("newSecretName") and body.get("secretValue") is None:
            # The 2024 server's rename schema required the value.
            raise validation_error(
                [
                    {
                        "code": "invalid_type",
                        "expected": "string",
                        "received": "undefined",
                        "path": ["secretValue"],
                        "message": "Required",
                    }
                ]
            )
        project_of(body)
        env, path = body["environment"], normalize_path(body["secretPath"])
        folder_or_404(env, path)
        record = find(env, path, name, body["type"])
        if record is None:
            raise ApiError(404, "Secret not found", "NotFound")
        pending = approval_or_none(env, path)
        if pending is not None:
            return pending
        update_record(record, body)
        return ctx.json({"secret": secret_json(record, hidden=False)})

    delete_schema: dict[str, F] = {
        project_key: F("str", required=True),
        "environment": F("str", required=True),
        "secretPath": F("str", default="/"),
        "type": _TYPE,
    }

    async def delete_secret(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        name = request.match_info["name"].strip()
        body = validate(await ctx.body(request), delete_schema)
        project_of(body)
        env, path = body["environment"], normalize_path(body["secretPath"])
        folder_or_404(env, path)
        record = find(env, path, name, body["type"])
        if record is None:
            raise ApiError(404, "Secret not found", "NotFound")
        pending = approval_or_none(env, path)
        if pending is not None:
            return pending
        state.remove_secret(record)
        return ctx.json({"secret": secret_json(record)})

    batch_base: dict[str, F] = {
        project_key: F("str", required=True),
        "environment": F("str", required=True),
        "secretPath": F("str", default="/"),
        "secrets": F("list", required=True, min_len=1),
    }
    item_create = {
        k: v
        for k, v in _write_schema(api, create=True).items()
        if k not in (project_key, "environment", "secretPath", "type")
    }
    item_create["secretKey"] = F("str", required=True, min_len=1, check=_name_check)
    item_update = {
        k: v
        for k, v in _write_schema(api, create=False).items()
        if k not in (project_key, "environment", "type")
    }
    item_update["secretPath"] = F("str")
    item_update["secretKey"] = F("str", required=True, min_len=1)
    item_delete = {"secretKey": F("str", required=True, min_len=1), "type": _TYPE}

    def batch_items(items: list[Any], schema: dict[str, F]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            if not isinstance(item, dict):
                raise ApiError(
                    422,
                    [
                        {
                            "code": "invalid_type",
                            "expected": "object",
                            "path": ["secrets"],
                            "message": "Expected object",
                        }
                    ],
                    "ValidationFailure",
                )
            out.append(validate(item, schema))
        return out

    async def batch_create(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), batch_base)
        project_of(body)
        env, path = body["environment"], normalize_path(body["secretPath"])
        items = batch_items(body["secrets"], item_create)
        folder_or_404(env, path)
        for item in items:
            if find(env, path, item["secretKey"], "shared") is not None:
                raise ApiError(400, "Secret already exist", "BadRequest")
        pending = approval_or_none(env, path)
        if pending is not None:
            return pending
        created = [
            create_record(env, path, item["secretKey"], {**item, "type": "shared"})
            for item in items
        ]
        return ctx.json({"secrets": [secret_json(r) for r in created]})

    async def batch_update(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        schema = {
            **batch_base,
            "mode": F(
                "str", default="failOnNotFound", choices=("ignore", "upsert", "failOnNotFound")
            ),
        }
        body = validate(await ctx.body(request), schema)
        project_of(body)
        env, base_path = body["environment"], normalize_path(body["secretPath"])
        items = batch_items(body["secrets"], item_update)
        ctx.check_environment(env)
        plan: list[tuple[dict[str, Any], str, SecretRecord | None]] = []
        for item in items:
            path = normalize_path(item["secretPath"]) if item.get("secretPath") else base_path
            folder_or_404(env, path)
            record = find(env, path, item["secretKey"], "shared")
            if record is None and ctx.legacy:
                # The 2024 server had no `mode`: every missing secret failed the batch.
                raise ApiError(404, "Secret does not exist: ", "NotFound")
            if record is None and body["mode"] == "failOnNotFound":
                raise ApiError(404, "Secret not found", "NotFound")
            plan.append((item, path, record))
        pending = approval_or_none(env, base_path)
        if pending is not None:
            return pending
        updated = []
        for item, path, record in plan:
            if record is None:
                if body["mode"] == "ignore":
                    continue
                record = create_record(
                    env,
                    path,
                    item["secretKey"],
                    {**item, "secretValue": item.get("secretValue") or ""},
                )
            else:
                update_record(record, item)
            updated.append(secret_json(record, hidden=False))
        return ctx.json({"secrets": updated})

    async def batch_delete(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(await ctx.body(request), batch_base)
        project_of(body)
        env, path = body["environment"], normalize_path(body["secretPath"])
        items = batch_items(body["secrets"], item_delete)
        folder_or_404(env, path)
        records = []
        for item in items:
            record = find(env, path, item["secretKey"], item["type"])
            if record is None:
                raise ApiError(404, "Secret not found", "NotFound")
            records.append(record)
        pending = approval_or_none(env, path)
        if pending is not None:
            return pending
        for record in records:
            state.remove_secret(record)
        return ctx.json({"secrets": [secret_json(r) for r in records]})

    router = app.router
    router.add_get(base, list_secrets)
    router.add_post(batch, batch_create)
    router.add_patch(batch, batch_update)
    router.add_delete(batch, batch_delete)
    router.add_get(base + "/{name}", get_secret)
    router.add_post(base + "/{name}", create_secret)
    router.add_patch(base + "/{name}", update_secret)
    router.add_delete(base + "/{name}", delete_secret)


def add_import_and_tag_routes(app: web.Application, ctx: Context) -> None:
    state = ctx.state

    def import_json(imp: ImportRecord) -> dict[str, Any]:
        return {
            "id": imp.id,
            "position": imp.position,
            "importEnv": {
                "slug": imp.import_env,
                "name": state.environments[imp.import_env]["name"],
                "id": state.environments[imp.import_env]["id"],
            },
            "importPath": imp.import_path,
        }

    async def create_import(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        body = validate(
            await ctx.body(request),
            {
                "workspaceId": F("str"),
                "projectId": F("str"),
                "environment": F("str", required=True),
                "path": F("str", default="/"),
                "import": F("dict", required=True),
            },
        )
        ctx.check_project_id(body.get("projectId") or body.get("workspaceId") or "")
        target = validate(
            body["import"],
            {"environment": F("str", required=True), "path": F("str", required=True)},
        )
        env, path = body["environment"], normalize_path(body["path"])
        ctx.check_environment(env)
        ctx.check_environment(target["environment"])
        if (
            state.folder(env, path) is None
            or state.folder(target["environment"], normalize_path(target["path"])) is None
        ):
            raise ApiError(404, "Folder not found", "NotFound")
        imp = ImportRecord(
            id=new_id(),
            env=env,
            path=path,
            import_env=target["environment"],
            import_path=normalize_path(target["path"]),
            position=len(state.imports) + 1,
        )
        state.imports.append(imp)
        return ctx.json(
            {"message": "Successfully created secret import", "secretImport": import_json(imp)}
        )

    async def list_imports(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        q = validate(
            request.query,
            {
                "workspaceId": F("str"),
                "projectId": F("str"),
                "environment": F("str", required=True),
                "path": F("str", default="/"),
            },
            query=True,
        )
        ctx.check_project_id(q.get("projectId") or q.get("workspaceId") or "")
        path = normalize_path(q["path"])
        found = [
            import_json(i) for i in state.imports if i.env == q["environment"] and i.path == path
        ]
        return ctx.json({"secretImports": found})

    async def create_tag(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        ctx.check_project_id(request.match_info["projectId"])
        body = validate(
            await ctx.body(request),
            {"slug": F("str", required=True, min_len=1), "name": F("str"), "color": F("str")},
        )
        if any(t["slug"] == body["slug"] for t in state.tags.values()):
            raise ApiError(400, "Tag with this slug already exists", "BadRequest")
        tag = {
            "id": new_id(),
            "slug": body["slug"],
            "name": body.get("name") or body["slug"],
            "color": body.get("color"),
        }
        state.tags[tag["id"]] = tag
        return ctx.json({"workspaceTag": tag})

    async def list_tags(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        ctx.check_project_id(request.match_info["projectId"])
        return ctx.json({"workspaceTags": list(state.tags.values())})

    async def delete_tag(request: web.Request) -> web.Response:
        ctx.authenticate(request)
        ctx.check_project_id(request.match_info["projectId"])
        tag = state.tags.pop(request.match_info["tagId"], None)
        if tag is None:
            raise ApiError(404, "Tag not found", "NotFound")
        for bucket in state.secrets.values():
            for record in bucket.values():
                if tag["id"] in record.tag_ids:
                    record.tag_ids = [t for t in record.tag_ids if t != tag["id"]]
        return ctx.json({"workspaceTag": tag})

    app.router.add_post("/api/v1/secret-imports", create_import)
    app.router.add_get("/api/v1/secret-imports", list_imports)
    # (Older servers have no /api/v1/projects routes at all.)
    prefixes = ("/api/v1/workspace", "/api/v1/projects") if ctx.current else ("/api/v1/workspace",)
    for prefix in prefixes:
        app.router.add_post(prefix + "/{projectId}/tags", create_tag)
        app.router.add_get(prefix + "/{projectId}/tags", list_tags)
        app.router.add_delete(prefix + "/{projectId}/tags/{tagId}", delete_tag)
