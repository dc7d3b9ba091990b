"""In-memory state of the embedded server: one organisation, one project, its identity."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

__all__ = [
    "DynamicSecretRecord",
    "FolderRecord",
    "Identity",
    "KmsKey",
    "LeaseRecord",
    "SecretChange",
    "SecretChangeKind",
    "SecretRecord",
    "ServerState",
    "TokenRecord",
    "iso",
    "now_utc",
    "server_clock_offset",
    "wall_time",
]

server_clock_offset: ContextVar[float] = ContextVar("server_clock_offset", default=0.0)
"""Seconds this server's clock runs ahead of the machine's (negative: behind). Set per
request by the app, so several servers with different clocks can share one process."""


def wall_time() -> float:
    """The server's wall clock in seconds since the epoch (the machine's, shifted)."""
    return time.time() + server_clock_offset.get()


def now_utc() -> datetime:
    return datetime.fromtimestamp(wall_time(), timezone.utc)


def iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    return str(uuid.uuid4())


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass
class Identity:
    id: str
    name: str
    client_id: str
    client_secret: str
    access_token_ttl: int
    access_token_max_ttl: int


@dataclass
class TokenRecord:
    id: str
    identity_id: str
    created_at: float
    last_renewed_at: float
    ttl: int
    max_ttl: int
    revoked: bool = False
    force_expired: bool = False
    jwt: str | None = None
    """The JWT issued at login (2024 servers hand the same one back on renew)."""


@dataclass
class FolderRecord:
    id: str
    name: str
    env: str
    path: str  # the folder's own full path, "/" for the root
    parent_id: str | None
    description: str | None = None
    version: int = 1
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)


@dataclass
class SecretVersion:
    version: int
    value: str
    comment: str


@dataclass
class SecretRecord:
    id: str
    key: str
    env: str
    path: str
    type: str
    owner_id: str | None
    value: str
    comment: str = ""
    version: int = 1
    tag_ids: list[str] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    reminder_note: str | None = None
    reminder_repeat_days: int | None = None
    skip_multiline_encoding: bool = False
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)
    history: list[SecretVersion] = field(default_factory=list)


SecretChangeKind = Literal["created", "updated", "deleted"]


@dataclass(frozen=True)
class SecretChange:
    """One secret written: what listeners of `ServerState.add_secret_listener` receive."""

    env: str
    path: str
    key: str
    kind: SecretChangeKind
    type: str = "shared"
    previous_key: str | None = None
    """The name before a rename (``kind`` is then "updated" and ``key`` the new name)."""


@dataclass
class ImportRecord:
    id: str
    env: str
    path: str
    import_env: str
    import_path: str
    position: int


@dataclass
class DynamicSecretRecord:
    id: str
    name: str
    type: str
    inputs: dict[str, Any]
    default_ttl: str
    max_ttl: str | None
    env: str
    path: str
    folder_id: str
    username_template: str | None = None
    metadata: list[dict[str, Any]] = field(default_factory=list)
    version: int = 1
    status: str | None = None
    status_details: str | None = None
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)


@dataclass
class LeaseRecord:
    id: str
    dynamic_secret_id: str
    external_entity_id: str
    expire_at: datetime
    config: Any = None
    version: int = 1
    status: str | None = None
    status_details: str | None = None
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)


@dataclass
class KmsKey:
    """A KMS key; ``material`` is the AES key bytes or a cryptography private key."""

    id: str
    name: str
    project_id: str
    key_usage: str
    algorithm: str
    material: Any
    description: str | None = None
    is_disabled: bool = False
    version: int = 1
    created_at: datetime = field(default_factory=now_utc)
    updated_at: datetime = field(default_factory=now_utc)


class ServerState:
    """Everything the server knows. Single-threaded: touched only from the server's loop."""

    def __init__(
        self,
        *,
        client_id: str | None,
        client_secret: str | None,
        access_token_ttl: int,
        access_token_max_ttl: int,
        environments: tuple[str, ...] = ("dev", "staging", "prod"),
    ) -> None:
        self.jwt_key = secrets.token_bytes(32)
        self.org_id = new_id()
        self.project_id = new_id()
        self.project_slug = "sdk-test-project"
        self.project_name = "SDK test project"
        self.project_created_at = now_utc()
        self.identity = Identity(
            id=new_id(),
            name="sdk-test-identity",
            client_id=client_id or new_id(),
            client_secret=client_secret or secrets.token_hex(32),
            access_token_ttl=access_token_ttl,
            access_token_max_ttl=access_token_max_ttl,
        )
        self.environments: dict[str, dict[str, str]] = {}
        self.folders: dict[tuple[str, str], FolderRecord] = {}
        for position, slug in enumerate(environments, start=1):
            env_id = new_id()
            name = {"dev": "Development", "staging": "Staging", "prod": "Production"}.get(
                slug, slug
            )
            self.environments[slug] = {
                "id": env_id,
                "name": name,
                "slug": slug,
                "position": str(position),
            }
            self.folders[(slug, "/")] = FolderRecord(
                id=new_id(), name="root", env=slug, path="/", parent_id=None
            )
        self.secrets: dict[tuple[str, str], dict[tuple[str, str, str | None], SecretRecord]] = {}
        self.imports: list[ImportRecord] = []
        self.tags: dict[str, dict[str, Any]] = {}
        self.dynamic_secrets: dict[tuple[str, str, str], DynamicSecretRecord] = {}
        self.leases: dict[str, LeaseRecord] = {}
        self.kms_keys: dict[str, KmsKey] = {}
        self.tokens: dict[str, TokenRecord] = {}
        self._verified: dict[str, tuple[str, float | None]] = {}
        self.approval_paths: set[tuple[str, str]] = set()
        self.auth_methods: dict[str, dict[str, Any]] = {}
        """Login methods configured on the identity, by method name (see ServerControl)."""
        self._secret_listeners: list[Callable[[SecretChange], None]] = []

    # -- tokens ---------------------------------------------------------------------------
    def sign_token(self, record: TokenRecord, exp: float | None) -> str:
        import jwt  # PyJWT (extra "testing"); imported late so the pytest plugin loads without it

        claims: dict[str, Any] = {
            "identityId": record.identity_id,
            "identityAccessTokenId": record.id,
            "authTokenType": "identityAccessToken",
            "iat": int(wall_time()),
        }
        if exp is not None:
            claims["exp"] = int(exp) if exp == int(exp) else exp
        token = jwt.encode(claims, self.jwt_key, algorithm="HS256")
        self._verified[token] = (record.id, exp)
        return token

    def verify_token(self, token: str) -> tuple[str, float | None] | None:
        """Return (token id, JWT exp) for a token this server signed, else None.

        Only the signature is checked here; expiry is judged by the caller against the
        server's own clock (which tests may shift), as are ``iat`` and ``nbf``.
        """
        import jwt

        cached = self._verified.get(token)
        if cached is not None:
            return cached
        try:
            claims = jwt.decode(
                token,
                self.jwt_key,
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError:
            return None
        exp = claims.get("exp")
        result = (str(claims.get("identityAccessTokenId")), exp if _is_number(exp) else None)
        self._verified[token] = result
        return result

    def issue_token(self, identity: Identity, *, ttl: int, max_ttl: int) -> TokenRecord:
        now = wall_time()
        record = TokenRecord(
            id=new_id(),
            identity_id=identity.id,
            created_at=now,
            last_renewed_at=now,
            ttl=ttl,
            max_ttl=max_ttl,
        )
        self.tokens[record.id] = record
        return record

    def expire_all_tokens(self) -> int:
        for record in self.tokens.values():
            record.force_expired = True
        return len(self.tokens)

    # -- folders --------------------------------------------------------------------------
    def folder(self, env: str, path: str) -> FolderRecord | None:
        return self.folders.get((env, path))

    def ensure_folder(self, env: str, path: str) -> FolderRecord:
        """Return the folder at ``path``, creating missing parents (as folder create does)."""
        existing = self.folders.get((env, path))
        if existing is not None:
            return existing
        parent_path, _, name = path.rpartition("/")
        parent = self.ensure_folder(env, parent_path or "/")
        record = FolderRecord(id=new_id(), name=name, env=env, path=path, parent_id=parent.id)
        self.folders[(env, path)] = record
        return record

    def secrets_at(self, env: str, path: str) -> dict[tuple[str, str, str | None], SecretRecord]:
        return self.secrets.setdefault((env, path), {})

    # -- secret writes: every change goes through these, so listeners see all of them ------
    def add_secret_listener(self, listener: Callable[[SecretChange], None]) -> Callable[[], None]:
        """Call ``listener`` (on the server's loop) after every secret write; returns a
        function that removes it."""
        self._secret_listeners.append(listener)
        return lambda: self._secret_listeners.remove(listener)

    def notify_secret_change(self, change: SecretChange) -> None:
        """The one place a secret write is announced (creates, updates, renames, deletes)."""
        for listener in list(self._secret_listeners):
            listener(change)

    def put_secret(self, record: SecretRecord, *, kind: SecretChangeKind = "created") -> None:
        """Store ``record`` under its name, type and owner (replacing one stored there)."""
        self.secrets_at(record.env, record.path)[(record.key, record.type, record.owner_id)] = (
            record
        )
        self.notify_secret_change(
            SecretChange(record.env, record.path, record.key, kind, record.type)
        )

    def seed_secrets(self, env: str, path: str, values: dict[str, str]) -> None:
        """Store shared secrets at an existing folder as version 1, replacing any of the
        same name (a test's fixture data, not an API write)."""
        bucket = self.secrets_at(env, path)
        for key, value in values.items():
            kind: SecretChangeKind = "updated" if (key, "shared", None) in bucket else "created"
            record = SecretRecord(
                id=new_id(),
                key=key,
                env=env,
                path=path,
                type="shared",
                owner_id=None,
                value=value,
                history=[SecretVersion(1, value, "")],
            )
            self.put_secret(record, kind=kind)

    def rename_secret(self, record: SecretRecord, new_key: str) -> None:
        """Move ``record`` to ``new_key`` in its folder (the caller announces the update)."""
        bucket = self.secrets_at(record.env, record.path)
        del bucket[(record.key, record.type, record.owner_id)]
        record.key = new_key
        bucket[(record.key, record.type, record.owner_id)] = record

    def remove_secret(self, record: SecretRecord) -> None:
        del self.secrets_at(record.env, record.path)[(record.key, record.type, record.owner_id)]
        self.notify_secret_change(
            SecretChange(record.env, record.path, record.key, "deleted", record.type)
        )

    def remove_folder_tree(self, env: str, path: str) -> None:
        """Delete the folder at ``path``, its subfolders and every secret in them."""
        prefix = path + "/"
        for key in [
            k for k in self.folders if k[0] == env and (k[1] == path or k[1].startswith(prefix))
        ]:
            del self.folders[key]
            for record in list(self.secrets.get(key, {}).values()):
                self.remove_secret(record)
            self.secrets.pop(key, None)
