"""What the SDK promises, call by call, held against every target and both packages.

Assertions are about what a user of the SDK sees, never about routes or wire shapes, so
the same test passes against any server generation the SDK supports. Where a server
generation cannot do something (a documented limitation, e.g. the October-2024 server
ignoring ``version`` on reads), the test detects it and reports ``xfail`` with the reason;
on an embedded target that limitation must belong to the mode being served, so an SDK
bug can never hide behind it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest

from infisical_async import (
    AuthenticationError,
    BadRequestError,
    InfisicalError,
    NewSecret,
    NotFoundError,
    SecretUpdate,
    SqlDatabaseProvider,
)
from infisical_async._generations import is_route_not_found

from .conftest import Names, Target

KNOWN_LIMITS = {
    "version-ignored": ({"2024"}, "the server ignores `version` on reads (October 2024)"),
    "no-batch-mode": ({"2024"}, "the server ignores batch update `mode` (October 2024)"),
    "no-request-id": ({"2024"}, "the server sends no request id (October 2024)"),
    "kms-routes": (
        {"2024"},
        "the server has no such KMS route (October 2024: keys, encrypt and decrypt only)",
    ),
    "kms-symmetric-only": (
        {"2024"},
        "the server makes only symmetric (encrypt-decrypt) keys (October 2024)",
    ),
    "kms-project-type": (
        {"2025"},
        "the server allows KMS only in projects of type `kms` (June 2025)",
    ),
}


def limitation(target: Target, which: str) -> None:
    """Report a documented server limitation as xfail, where it may honestly occur."""
    modes, reason = KNOWN_LIMITS[which]
    if target.generation == "real" or target.generation in modes:
        pytest.xfail(reason)
    pytest.fail(f"{target.name} showed a limitation its mode does not have: {reason}")


@contextlib.contextmanager
def kms_limits(target: Target) -> Any:
    """Turn the two documented KMS gaps into xfail; anything else fails."""
    try:
        yield
    except NotFoundError as exc:
        if is_route_not_found(exc):
            limitation(target, "kms-routes")
        raise
    except BadRequestError as exc:
        if "Operations of type kms are not allowed" in exc.message:
            limitation(target, "kms-project-type")
        raise


def forget_keys(sdk: Any, name: str) -> None:
    """Delete the KMS keys called ``name`` (found by name: a create whose answer failed
    to parse has still made its key)."""
    for key in sdk.kms.keys.list(search=name).keys:
        if key.name == name:
            sdk.kms.keys.delete(key.id)


def op(name: str) -> pytest.MarkDecorator:
    return pytest.mark.operation(name)


# -- auth and projects ---------------------------------------------------------------------
@op("auth: login, renew, revoke, log in again")
def test_token_lifecycle(sdk: Any, target: Target) -> None:
    token = sdk.auth.universal_auth.login(target.client_id, target.client_secret)
    assert token.access_token and token.expires_in >= 0
    assert sdk.auth.access_token == token.access_token
    renewed = sdk.auth.renew()
    assert renewed.access_token
    sdk.auth.revoke()
    assert sdk.auth.access_token is None
    assert sdk.projects.get().id == target.project_id  # logs in again by itself


@op("TokenAuth / auth.set_access_token")
def test_ready_token(sdk: Any, token_client: Any, target: Target) -> None:
    token = sdk.auth.universal_auth.login(target.client_id, target.client_secret).access_token
    with token_client(token) as by_token:
        assert by_token.projects.get().id == target.project_id
        assert by_token.auth.access_token == token
    with token_client("not-a-valid-token") as wrong:
        with pytest.raises(AuthenticationError):
            wrong.projects.get()
        wrong.auth.set_access_token(token)
        assert wrong.projects.get().id == target.project_id


@op("projects.get / list_environments")
def test_project_by_id(sdk: Any, target: Target) -> None:
    project = sdk.projects.get()
    assert project.id == target.project_id and project.slug
    assert target.environment in [e.slug for e in sdk.projects.list_environments()]


@op("projects.get_by_slug")
def test_project_by_slug(sdk: Any, target: Target) -> None:
    slug = sdk.projects.get().slug
    assert sdk.projects.get_by_slug(slug).id == target.project_id
    with pytest.raises(NotFoundError):
        sdk.projects.get_by_slug(f"{slug}-no-such-project")


# -- secrets -------------------------------------------------------------------------------
@op("secrets.create / get")
def test_create_and_get(sdk: Any, cleanup: list[Any], names: Names) -> None:
    key = names.key("a")
    cleanup.append(lambda: sdk.secrets.delete(key))
    created = sdk.secrets.create(key, "  value-1  ", comment="made by the conformance suite")
    assert (created.key, created.value) == (key, "value-1")  # the server trims values
    got = sdk.secrets.get(key)
    assert (got.key, got.value, got.comment) == (key, "value-1", "made by the conformance suite")
    assert "value-1" not in repr(got)
    with pytest.raises(BadRequestError):
        sdk.secrets.create(key, "again")


@op("secrets.get: missing secret")
def test_missing_secret(sdk: Any, names: Names) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.secrets.get(names.key("missing"))
    assert not is_route_not_found(missing.value)
    assert sdk.secrets.list(secret_path="/").get(names.key("missing")) is None


@op("errors carry the server's request id")
def test_request_id(sdk: Any, target: Target, names: Names) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.secrets.get(names.key("missing"))
    if missing.value.request_id is None:
        limitation(target, "no-request-id")
    assert missing.value.request_id.startswith("req-")


@op("secrets.get(version=)")
def test_get_old_version(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    key = names.key("ver")
    cleanup.append(lambda: sdk.secrets.delete(key))
    sdk.secrets.create(key, "first")
    updated = sdk.secrets.update(key, value="second")
    assert updated.value == "second" and updated.version == 2
    assert sdk.secrets.get(key).value == "second"
    old = sdk.secrets.get(key, version=1)
    if old.value == "second":
        limitation(target, "version-ignored")
    assert old.value == "first"


@op("secrets.update: value and comment")
def test_update(sdk: Any, cleanup: list[Any], names: Names) -> None:
    key = names.key("upd")
    cleanup.append(lambda: sdk.secrets.delete(key))
    sdk.secrets.create(key, "v1")
    sdk.secrets.update(key, value="v2", comment="changed")
    got = sdk.secrets.get(key)
    assert (got.value, got.comment) == ("v2", "changed")
    with pytest.raises(NotFoundError):
        sdk.secrets.update(names.key("nope"), value="x")


@op("secrets.update: rename without a value")
def test_rename(sdk: Any, cleanup: list[Any], names: Names) -> None:
    key, new = names.key("old"), names.key("new")
    cleanup.append(lambda: sdk.secrets.delete(key))
    sdk.secrets.create(key, "kept-value")
    cleanup.append(lambda: sdk.secrets.delete(new))
    renamed = sdk.secrets.update(key, new_key=new)
    assert renamed.key == new
    assert sdk.secrets.get(new).value == "kept-value"
    with pytest.raises(NotFoundError):
        sdk.secrets.get(key)


@op("secrets.delete")
def test_delete(sdk: Any, cleanup: list[Any], names: Names) -> None:
    key = names.key("del")
    cleanup.append(lambda: sdk.secrets.delete(key))
    sdk.secrets.create(key, "x")
    assert sdk.secrets.delete(key).key == key
    with pytest.raises(NotFoundError):
        sdk.secrets.delete(key)


@op("secrets.list: references, recursion")
def test_list(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    base, ref = names.key("base"), names.key("ref")
    folder = names.slug("list")
    cleanup.append(lambda: sdk.folders.delete(folder))
    sdk.folders.create(folder)
    cleanup.append(lambda: sdk.secrets.delete(base))
    sdk.secrets.create(base, "b")
    reference = "${" + f"{target.environment}.{base}" + "}-x"  # the root folder's key
    sdk.secrets.create(ref, reference, secret_path="/" + folder)
    listed = sdk.secrets.list(secret_path="/" + folder)
    assert listed.to_dict() == {ref: "b-x"}
    raw = sdk.secrets.list(secret_path="/" + folder, expand_secret_references=False)
    assert raw.to_dict() == {ref: reference}
    everything = sdk.secrets.list(recursive=True).to_dict()
    assert everything[base] == "b" and everything[ref] == "b-x"


def tag_call(sdk: Any, target: Target, method: str, suffix: str, body: Any = None) -> Any:
    """The project's tag routes, which the SDK does not wrap (the suite needs a tag)."""
    request = urllib.request.Request(
        f"{target.site_url}/api/v1/workspace/{target.project_id}/tags{suffix}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={
            "Authorization": f"Bearer {sdk.auth.access_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())["workspaceTag"]


@op("secrets.create(tag_ids) / list(tag_slugs)")
def test_tags(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    tagged, plain = names.key("tagged"), names.key("plain")
    folder = names.slug("tags")
    cleanup.append(lambda: sdk.folders.delete(folder))
    sdk.folders.create(folder)
    sdk.projects.get()  # logged in: the token is there for the raw tag calls
    slug = names.slug("tag")
    tag = tag_call(sdk, target, "POST", "", {"slug": slug, "name": slug, "color": "#123456"})
    cleanup.append(lambda: tag_call(sdk, target, "DELETE", "/" + tag["id"]))
    sdk.secrets.create(tagged, "t", secret_path="/" + folder, tag_ids=[tag["id"]])
    sdk.secrets.create(plain, "p", secret_path="/" + folder)
    assert [t.slug for t in sdk.secrets.get(tagged, secret_path="/" + folder).tags or []] == [slug]
    only = sdk.secrets.list(secret_path="/" + folder, tag_slugs=[slug])
    assert [s.key for s in only] == [tagged]
    assert sorted(s.key for s in sdk.secrets.list(secret_path="/" + folder)) == sorted(
        [tagged, plain]
    )


@op("secrets.load_into_environ")
def test_load_into_environ(sdk: Any, cleanup: list[Any], names: Names) -> None:
    folder = names.slug("env")
    cleanup.append(lambda: sdk.folders.delete(folder))
    sdk.folders.create(folder)
    key = names.key("env")
    sdk.secrets.create(key, "from-infisical", secret_path="/" + folder)
    environ = {key: "already-set"}
    assert sdk.secrets.load_into_environ(secret_path="/" + folder, environ=environ) == {}
    assert environ[key] == "already-set"
    applied = sdk.secrets.load_into_environ(
        secret_path="/" + folder, environ=environ, overwrite=True
    )
    assert applied == {key: "from-infisical"} == {key: environ[key]}
    assert key not in os.environ


@op("secrets.batch_create / batch_update / batch_delete")
def test_batch(sdk: Any, cleanup: list[Any], names: Names) -> None:
    a, b = names.key("ba"), names.key("bb")
    cleanup.append(lambda: sdk.secrets.delete(a))
    cleanup.append(lambda: sdk.secrets.delete(b))
    created = sdk.secrets.batch_create({a: "1", b: "2"})
    assert sorted(s.key for s in created) == sorted([a, b])
    with pytest.raises(InfisicalError):  # all or nothing: one name exists
        sdk.secrets.batch_create([NewSecret(key=a, value="x")])
    updated = sdk.secrets.batch_update([SecretUpdate(key=a, value="10")])
    assert [(s.key, s.value) for s in updated] == [(a, "10")]
    assert sdk.secrets.get(a).value == "10"
    deleted = sdk.secrets.batch_delete([a, b])
    assert sorted(s.key for s in deleted) == sorted([a, b])
    with pytest.raises(NotFoundError):
        sdk.secrets.get(a)


@op("secrets.batch_update(mode='upsert')")
def test_batch_upsert(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    a, new = names.key("ua"), names.key("un")
    cleanup.append(lambda: sdk.secrets.delete(a))
    sdk.secrets.create(a, "1")
    cleanup.append(lambda: sdk.secrets.delete(new))
    try:
        updated = sdk.secrets.batch_update(
            [SecretUpdate(key=a, value="2"), SecretUpdate(key=new, value="3")], mode="upsert"
        )
    except NotFoundError:
        limitation(target, "no-batch-mode")
    assert sorted((s.key, s.value) for s in updated) == sorted([(a, "2"), (new, "3")])


# -- folders -------------------------------------------------------------------------------
@op("folders.create / list / delete")
def test_folders(sdk: Any, cleanup: list[Any], names: Names) -> None:
    top = names.slug("top")
    cleanup.append(lambda: sdk.folders.delete(top))
    created = sdk.folders.create(top)
    assert created.name == top
    inner = names.slug("in")
    sdk.folders.create(inner, secret_path="/" + top)
    assert top in [f.name for f in sdk.folders.list()]
    assert [f.name for f in sdk.folders.list(secret_path="/" + top)] == [inner]
    below = {f.name: f.relative_path for f in sdk.folders.list(recursive=True)}
    assert below[top] == "/" + top and below[inner] is not None
    assert sdk.folders.delete(top).name == top
    assert top not in [f.name for f in sdk.folders.list()]
    with pytest.raises(NotFoundError):
        sdk.folders.delete(top)


# -- KMS -----------------------------------------------------------------------------------
@op("kms.keys.create / list / update / delete")
def test_kms_keys(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    name = names.slug("key")
    cleanup.append(lambda: forget_keys(sdk, name))
    with kms_limits(target):
        key = sdk.kms.keys.create(name, description="conformance")
    assert key.name == name and not key.is_disabled
    assert key.key_usage in (None, "encrypt-decrypt")
    assert name in [k.name for k in sdk.kms.keys.list(search=name).keys]
    updated = sdk.kms.keys.update(key.id, description="changed", is_disabled=True)
    assert (updated.description, updated.is_disabled) == ("changed", True)
    assert sdk.kms.keys.delete(key.id).id == key.id


@op("kms.encrypt / decrypt")
def test_kms_encrypt(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    cleanup.append(lambda: forget_keys(sdk, names.slug("enc")))
    with kms_limits(target):
        key = sdk.kms.keys.create(names.slug("enc"))
    for payload in (b"", b"hello", bytes(range(256))):
        ciphertext = sdk.kms.encrypt(key.id, payload)
        assert isinstance(ciphertext, str) and ciphertext != base64.b64encode(payload).decode()
        assert sdk.kms.decrypt(key.id, ciphertext) == payload


@op("kms.keys.get / get_by_name")
def test_kms_get(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    name = names.slug("get")
    cleanup.append(lambda: forget_keys(sdk, name))
    with kms_limits(target):
        key = sdk.kms.keys.create(name)
    with kms_limits(target):
        assert sdk.kms.keys.get(key.id).name == name
    assert sdk.kms.keys.get_by_name(name).id == key.id


@op("kms.sign / verify / public_key / signing_algorithms")
def test_kms_sign(sdk: Any, target: Target, cleanup: list[Any], names: Names) -> None:
    cleanup.append(lambda: forget_keys(sdk, names.slug("sig")))
    with kms_limits(target):
        try:
            key = sdk.kms.keys.create(
                names.slug("sig"), key_usage="sign-verify", encryption_algorithm="ECC_NIST_P256"
            )
        except InfisicalError as exc:
            if getattr(exc, "status_code", None) in (401, 422):  # no asymmetric keys there
                limitation(target, "kms-symmetric-only")
            raise
    algorithm = "ECDSA_SHA_256"
    with kms_limits(target):
        assert algorithm in sdk.kms.signing_algorithms(key.id)
    assert sdk.kms.public_key(key.id)
    message = b"release 1.2.3"
    signature = sdk.kms.sign(key.id, message, signing_algorithm=algorithm)
    assert sdk.kms.verify(key.id, message, signature, signing_algorithm=algorithm)
    assert not sdk.kms.verify(key.id, b"tampered", signature, signing_algorithm=algorithm)
    digest = hashlib.sha256(message).digest()
    by_digest = sdk.kms.sign(key.id, digest, signing_algorithm=algorithm, is_digest=True)
    assert sdk.kms.verify(key.id, message, by_digest, signing_algorithm=algorithm)


# -- dynamic secrets and leases ------------------------------------------------------------
PG_CREATE = (
    "CREATE ROLE \"{{username}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
)
PG_REVOKE = 'DROP ROLE IF EXISTS "{{username}}";'
PG_RENEW = "ALTER ROLE \"{{username}}\" VALID UNTIL '{{expiration}}';"


class Dynamic:
    """A dynamic secret to lease from: made for an embedded target, given for a real one."""

    def __init__(self, name: str, path: str, dsn: str | None) -> None:
        self.name, self.path, self.dsn = name, path, dsn


@pytest.fixture
def dynamic(
    sdk: Any, target: Target, cleanup: list[Any], names: Names, request: pytest.FixtureRequest
) -> Dynamic:
    if target.embedded is None:
        if not target.dynamic_secret:
            pytest.skip(f"set {'INFISICAL_CONFORMANCE_DYNAMIC_SECRET'} to check leases")
        return Dynamic(target.dynamic_secret, target.dynamic_secret_path, target.postgres_dsn)
    dsn = request.getfixturevalue("databases")["postgres"]
    url = urlsplit(dsn)
    name = names.slug("pg")
    cleanup.append(lambda: sdk.dynamic_secrets.delete(name, force=True))
    sdk.dynamic_secrets.create(
        name,
        default_ttl="10m",
        max_ttl="1h",
        provider=SqlDatabaseProvider(
            client="postgres",
            host=url.hostname or "127.0.0.1",
            port=url.port or 5432,
            database=url.path.lstrip("/"),
            username=url.username or "postgres",
            password=url.password or "",
            creation_statement=PG_CREATE,
            revocation_statement=PG_REVOKE,
            renew_statement=PG_RENEW,
        ),
    )
    return Dynamic(name, "/", dsn)


def can_log_in(dsn: str | None, credentials: Any) -> bool | None:
    """Whether leased PostgreSQL credentials log in (None: no DSN to try them on)."""
    if dsn is None:
        return None
    import asyncio

    import asyncpg

    url = urlsplit(dsn)

    async def attempt() -> bool:
        try:
            conn = await asyncpg.connect(
                host=url.hostname,
                port=url.port,
                database=url.path.lstrip("/"),
                user=credentials["DB_USERNAME"],
                password=credentials["DB_PASSWORD"],
                timeout=10,
            )
        except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError):
            return False
        await conn.close()
        return True

    return asyncio.run(attempt())


@op("dynamic_secrets.get / list")
def test_dynamic_secret_reads(sdk: Any, dynamic: Dynamic) -> None:
    got = sdk.dynamic_secrets.get(dynamic.name, secret_path=dynamic.path)
    assert got.name == dynamic.name and got.default_ttl
    assert dynamic.name in [d.name for d in sdk.dynamic_secrets.list(secret_path=dynamic.path)]
    with pytest.raises(NotFoundError):
        sdk.dynamic_secrets.get(dynamic.name + "-nope", secret_path=dynamic.path)


@op("dynamic_secrets.create / update / delete")
def test_dynamic_secret_writes(sdk: Any, target: Target, dynamic: Dynamic) -> None:
    if target.embedded is None:
        pytest.skip("creating a dynamic secret needs database admin credentials")
    got = sdk.dynamic_secrets.get(dynamic.name)
    assert (got.type, got.default_ttl, got.max_ttl) == ("sql-database", "10m", "1h")
    assert "password" not in repr(got)
    updated = sdk.dynamic_secrets.update(dynamic.name, default_ttl="20m")
    assert updated.default_ttl == "20m"
    assert sdk.dynamic_secrets.delete(dynamic.name).name == dynamic.name
    assert dynamic.name not in [d.name for d in sdk.dynamic_secrets.list()]


@op("leases.create / get / list / renew / delete")
def test_lease_lifecycle(sdk: Any, dynamic: Dynamic, cleanup: list[Any]) -> None:
    """Leased credentials log in to PostgreSQL, and are refused once revoked."""
    leases = sdk.dynamic_secrets.leases
    lease = leases.create(dynamic.name, ttl="5m", secret_path=dynamic.path)
    cleanup.append(lambda: leases.delete(lease.id, force=True, secret_path=dynamic.path))
    assert set(lease.credentials) >= {"DB_USERNAME", "DB_PASSWORD"}
    assert lease.credentials["DB_PASSWORD"] not in repr(lease)
    assert can_log_in(dynamic.dsn, lease.credentials) in (True, None)
    assert leases.get(lease.id, secret_path=dynamic.path).id == lease.id
    assert lease.id in [item.id for item in leases.list(dynamic.name, secret_path=dynamic.path)]
    renewed = leases.renew(lease.id, ttl="5m", secret_path=dynamic.path)
    assert renewed.expire_at > lease.expire_at
    leases.delete(lease.id, secret_path=dynamic.path)
    assert can_log_in(dynamic.dsn, lease.credentials) in (False, None)
    with pytest.raises(NotFoundError):
        leases.get(lease.id, secret_path=dynamic.path)


@op("leases.keep")
def test_keep(sdk: Any, dynamic: Dynamic) -> None:
    with sdk.dynamic_secrets.leases.keep(dynamic.name, ttl="5m", secret_path=dynamic.path) as held:
        credentials = dict(held.credentials)
        lease_id = held.lease.id
        assert can_log_in(dynamic.dsn, credentials) in (True, None)
    # Leaving revokes the lease.
    with pytest.raises(NotFoundError):
        sdk.dynamic_secrets.leases.get(lease_id, secret_path=dynamic.path)
    assert can_log_in(dynamic.dsn, credentials) in (False, None)
