"""``client.secrets``: read and write secrets."""

from __future__ import annotations

import asyncio
import builtins
import logging
import os
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Hashable,
    Mapping,
    MutableMapping,
    Sequence,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._retry import RetryMode
from .._serde import structure, unstructure
from .._transport import Revalidation
from .._validation import flag, pick, require_name, require_path
from ..errors import (
    APIConnectionError,
    APITimeoutError,
    InfisicalError,
    InternalServerError,
    InvalidArgumentError,
    ResponseValidationError,
    UnprocessableEntityError,
)
from ..models import (
    BatchUpdateMode,
    NewSecret,
    Secret,
    SecretList,
    SecretMetadata,
    SecretType,
    SecretUpdate,
)
from ._base import AsyncResource, segment, unwrap

if TYPE_CHECKING:
    from .._watch import SecretEvent, WatchItem

__all__ = ["AsyncSecrets"]

log = logging.getLogger("infisical_async.secrets")
T = TypeVar("T")

_V4 = {"base": "/api/v4/secrets", "batch": "/api/v4/secrets/batch", "project": "projectId"}
_V3 = {
    "base": "/api/v3/secrets/raw",
    "batch": "/api/v3/secrets/batch/raw",
    "project": "workspaceId",
}


_BATCH_MODES: dict[str, str] = {
    "fail_on_not_found": "failOnNotFound",
    "ignore": "ignore",
    "upsert": "upsert",
}


def _check_type(value: str) -> str:
    if value not in ("shared", "personal"):
        raise InvalidArgumentError("type", "must be 'shared' or 'personal'")
    return value


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


class AsyncSecrets(AsyncResource):
    """Secrets of a project environment. Reached as ``client.secrets``.

    ``project_id``, ``environment`` and ``secret_path`` default to the client's; a call
    without either raises `MissingArgumentError` before sending.
    """

    async def _call(
        self,
        method: str,
        which: str,
        suffix: str,
        project_id: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        mode: RetryMode,
        revalidation: Revalidation | None = None,
    ) -> Any:
        client = self._client

        def attempt(generation: str) -> Awaitable[Any]:
            api = _V4 if generation == "v4" else _V3
            query = {api["project"]: project_id, **params} if params is not None else None
            payload = {api["project"]: project_id, **body} if body is not None else None
            return client._request(
                method,
                api[which] + suffix,
                params=query,
                json=payload,
                mode=mode,
                # The server's rate-limit bucket is the route pattern, not the name.
                route=api[which] + ("/:secretName" if suffix else ""),
                revalidation=revalidation,
            )

        return await self._state.generations.call("secrets", attempt)

    async def _read(
        self,
        cache_key: tuple[Any, ...] | None,
        fetch: Callable[[Revalidation | None], Awaitable[T]],
    ) -> T:
        """A read through the cache, shared by identical calls already in flight."""
        client = self._client
        if self._state.shared_cache is not None:
            fetch = self._state.shared_cache.wrap(cache_key, fetch, client._deadline())
        if cache_key is None or not self._state.coalesce_reads:
            return await self._through_cache(cache_key, fetch)
        inflight = self._state.inflight
        deadline = client._deadline()  # one for the call, however many reads it waits on
        rejoined = False
        while True:
            # Only calls with the same options share: a view's deadline and retries are its own.
            flight = (cache_key, self._state.cache.generation(cache_key[1]), client._options)
            shared = inflight.get(flight)
            if shared is None:
                if not rejoined:
                    return await self._lead(flight, cache_key, fetch)
                return await self._lead_again(flight, cache_key, fetch, deadline)
            outcome = await _follow(shared, deadline)
            if outcome.error is not None:
                raise _own_copy(outcome.error).with_traceback(outcome.traceback)
            if not outcome.abandoned:
                return outcome.value  # type: ignore[no-any-return]
            rejoined = True

    async def _lead(
        self,
        flight: Hashable,
        cache_key: tuple[Any, ...],
        fetch: Callable[[Revalidation | None], Awaitable[T]],
        registered: asyncio.Future[_Outcome] | None = None,
    ) -> T:
        """Read in the caller's own task, and hand the outcome to identical calls that
        arrive meanwhile. No task is spawned for it: most reads have nobody to share with,
        and a task, a shield and a timeout per call cost more than the request's own
        Python work."""
        inflight = self._state.inflight
        published: asyncio.Future[_Outcome]
        if registered is None:
            published = inflight[flight] = asyncio.get_running_loop().create_future()
        else:
            published = registered
        outcome = _ABANDONED  # cancelled, or interrupted: the others read for themselves
        try:
            result = await self._through_cache(cache_key, fetch)
            outcome = _Outcome(value=result)
            return result
        except Exception as exc:
            # Its traceback as raised here: the frames of our caller that it collects on
            # the way up are not the others' to see (nor to keep alive).
            outcome = _Outcome(error=exc, traceback=exc.__traceback__)
            raise
        finally:
            if inflight.get(flight) is published:
                del inflight[flight]
            published.set_result(outcome)

    async def _lead_again(
        self,
        flight: Hashable,
        cache_key: tuple[Any, ...],
        fetch: Callable[[Revalidation | None], Awaitable[T]],
        deadline: float | None,
    ) -> T:
        """Lead the read that the call we waited on gave up, within what is left of our own
        deadline. The read is registered before anything awaits, so the other callers
        that waited with us, woken together, join it instead of each sending its own."""
        inflight = self._state.inflight
        published: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        inflight[flight] = published
        try:
            return await _within(deadline, self._lead(flight, cache_key, fetch, published))
        finally:
            # A read that began published in its own finally (_within waits for that);
            # one cut short before it began did not.
            if not published.done():
                if inflight.get(flight) is published:
                    del inflight[flight]
                published.set_result(_ABANDONED)

    async def _through_cache(
        self,
        cache_key: tuple[Any, ...] | None,
        fetch: Callable[[Revalidation | None], Awaitable[T]],
    ) -> T:
        """Fetch and remember the answer, revalidating an expired one by its ETag; on an
        outage, maybe serve a stale one instead."""
        cache = self._state.cache
        if cache_key is None or not cache.enabled:
            return await fetch(None)
        live = self._state.live_cache
        if live is not None and isinstance(cache_key[1], str):
            live.follow(self._client, cache_key[1])
        generation = cache.generation(cache_key[1])
        held = cache.revalidatable(cache_key)
        revalidation = Revalidation(etag=None if held is None else held[1])
        try:
            result = await fetch(revalidation)
        except (APIConnectionError, InternalServerError) as exc:
            stale = cache.get_stale(cache_key)
            if stale is None:
                raise
            log.warning(
                "serving a cached answer %.0fs old: the server failed (%s)",
                stale[1],
                type(exc).__name__,
            )
            return stale[0]  # type: ignore[no-any-return]
        if revalidation.not_modified and held is not None:
            result = held[0]  # 304: what we hold is current; nothing to parse
        cache.put(cache_key, result, generation=generation, etag=revalidation.etag)
        return result

    def _key(self, kind: str, project_id: str | None, *args: Any) -> tuple[Any, ...]:
        """The cache key of a read: its arguments as given, plus the client defaults they
        fall back to. Equal keys mean equal requests, so a hit needs no validation."""
        client = self._client
        project = project_id if project_id is not None else client.project_id
        return (kind, project, client.environment, client.secret_path, *args)

    def _list_key(
        self,
        project_id: str | None,
        environment: str | None,
        secret_path: str | None,
        recursive: bool,
        include_imports: bool,
        expand_secret_references: bool,
        view_secret_value: bool,
        tag_slugs: Sequence[str] | None,
    ) -> tuple[Any, ...]:
        return self._key(
            "list",
            project_id,
            environment,
            secret_path,
            recursive,
            include_imports,
            expand_secret_references,
            view_secret_value,
            None if tag_slugs is None else tuple(tag_slugs),
        )

    def _get_key(
        self,
        key: str,
        project_id: str | None,
        environment: str | None,
        secret_path: str | None,
        version: int | None,
        type: SecretType,
        include_imports: bool,
        expand_secret_references: bool,
        view_secret_value: bool,
    ) -> tuple[Any, ...]:
        return self._key(
            "get",
            project_id,
            key,
            environment,
            secret_path,
            version,
            type,
            include_imports,
            expand_secret_references,
            view_secret_value,
        )

    def _lookup(
        self, make_key: Callable[[], tuple[Any, ...]]
    ) -> tuple[tuple[Any, ...] | None, Any]:
        """(cache key, fresh cached answer or None), without I/O; the key is None when neither
        the cache nor read coalescing needs one, or an argument is unhashable (validation
        will name it).

        Safe from any thread (one dict lookup), so the blocking twin answers hits without
        crossing to the event-loop thread.
        """
        cache = self._state.cache
        if (
            not cache.enabled
            and not self._state.coalesce_reads
            and self._state.shared_cache is None
        ):
            return None, None
        try:
            cache_key = make_key()
            return cache_key, cache.get(cache_key) if cache.enabled else None
        except TypeError:
            return None, None

    def _peek(self, make_key: Callable[[], tuple[Any, ...]]) -> Any:
        return self._lookup(make_key)[1]

    def _cached_list(
        self,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = False,
        include_imports: bool = True,
        expand_secret_references: bool = True,
        view_secret_value: bool = True,
        tag_slugs: Sequence[str] | None = None,
    ) -> SecretList | None:
        """A fresh cached ``list`` answer for these arguments, without I/O; None on a miss."""
        return self._peek(  # type: ignore[no-any-return]
            lambda: self._list_key(
                project_id,
                environment,
                secret_path,
                recursive,
                include_imports,
                expand_secret_references,
                view_secret_value,
                tag_slugs,
            )
        )

    def _cached_get(
        self,
        key: str,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        version: int | None = None,
        type: SecretType = "shared",
        include_imports: bool = True,
        expand_secret_references: bool = True,
        view_secret_value: bool = True,
    ) -> Secret | None:
        """A fresh cached ``get`` answer for these arguments, without I/O; None on a miss."""
        return self._peek(  # type: ignore[no-any-return]
            lambda: self._get_key(
                key,
                project_id,
                environment,
                secret_path,
                version,
                type,
                include_imports,
                expand_secret_references,
                view_secret_value,
            )
        )

    def _scope(
        self, project_id: str | None, environment: str | None, secret_path: str | None
    ) -> tuple[str, str, str]:
        client = self._client
        return (
            pick(project_id, client.project_id, "project_id"),
            pick(environment, client.environment, "environment"),
            require_path(pick(secret_path, client.secret_path, "secret_path"), "secret_path"),
        )

    async def list(
        self,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = False,
        include_imports: bool = True,
        expand_secret_references: bool = True,
        view_secret_value: bool = True,
        tag_slugs: Sequence[str] | None = None,
    ) -> SecretList:
        """List the secrets at a path (and its sub-folders with ``recursive=True``).

        Every flag is sent explicitly, since server versions default them differently.

        Args:
            project_id: The project; defaults to the client's.
            environment: Environment slug such as ``"dev"``; defaults to the client's.
            secret_path: Folder path, ``"/"`` by default.
            recursive: Include secrets of sub-folders.
            include_imports: Include secrets imported into the path (in ``.imports``).
            expand_secret_references: Replace ``${KEY}`` references with their values.
            view_secret_value: ``False`` asks for masked values.
            tag_slugs: Only secrets carrying one of these tags.

        Returns:
            The secrets, with ``to_dict()`` and ``get(key)`` helpers.

        Raises:
            MissingArgumentError: no project or environment.
            APIStatusError: the server refused (NotFoundError, PermissionDeniedError, ...).
        """
        cache_key, hit = self._lookup(
            lambda: self._list_key(
                project_id,
                environment,
                secret_path,
                recursive,
                include_imports,
                expand_secret_references,
                view_secret_value,
                tag_slugs,
            )
        )
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        project, env, path = self._scope(project_id, environment, secret_path)
        params = {
            "environment": env,
            "secretPath": path,
            "recursive": flag(recursive, "recursive"),
            "include_imports": flag(include_imports, "include_imports"),
            "includeImports": flag(include_imports, "include_imports"),
            "expandSecretReferences": flag(expand_secret_references, "expand_secret_references"),
            "viewSecretValue": flag(view_secret_value, "view_secret_value"),
        }
        if tag_slugs:
            params["tagSlugs"] = ",".join(require_name(t, "tag_slugs") for t in tag_slugs)

        async def fetch(revalidation: Revalidation | None) -> SecretList:
            data = await self._call(
                "GET",
                "base",
                "",
                project,
                params=params,
                mode=RetryMode.IDEMPOTENT,
                revalidation=revalidation,
            )
            if revalidation is not None and revalidation.not_modified:
                return None  # type: ignore[return-value]  # the held answer stands
            return structure(data, SecretList)

        return await self._read(cache_key, fetch)

    async def get(
        self,
        key: str,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        version: int | None = None,
        type: SecretType = "shared",
        include_imports: bool = True,
        expand_secret_references: bool = True,
        view_secret_value: bool = True,
    ) -> Secret:
        """Fetch one secret by key.

        Args:
            key: The secret's key.
            version: A past version instead of the latest.
            type: ``"shared"`` or ``"personal"``.
            include_imports: Fall back to imported secrets when the path has no such key.
            expand_secret_references: Replace ``${KEY}`` references with their values.

        Raises:
            NotFoundError: no such secret (or environment/folder).
        """
        cache_key, hit = self._lookup(
            lambda: self._get_key(
                key,
                project_id,
                environment,
                secret_path,
                version,
                type,
                include_imports,
                expand_secret_references,
                view_secret_value,
            )
        )
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        key = require_name(key, "key")
        project, env, path = self._scope(project_id, environment, secret_path)
        if version is not None and (not isinstance(version, int) or version < 1):
            raise InvalidArgumentError("version", "must be a positive integer")
        params = {
            "environment": env,
            "secretPath": path,
            "type": _check_type(type),
            "include_imports": flag(include_imports, "include_imports"),
            "expandSecretReferences": flag(expand_secret_references, "expand_secret_references"),
            "viewSecretValue": flag(view_secret_value, "view_secret_value"),
        }
        if version is not None:
            params["version"] = str(version)

        async def fetch(revalidation: Revalidation | None) -> Secret:
            data = await self._call(
                "GET",
                "base",
                "/" + segment(key, "key"),
                project,
                params=params,
                mode=RetryMode.IDEMPOTENT,
                revalidation=revalidation,
            )
            if revalidation is not None and revalidation.not_modified:
                return None  # type: ignore[return-value]  # the held answer stands
            return _expect_key(structure(unwrap(data, "secret"), Secret), key)

        return await self._read(cache_key, fetch)

    def watch(
        self,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = True,
        events: Collection[SecretEvent] | None = None,
        poll_interval: float = 30.0,
        heartbeat_timeout: float = 45.0,
    ) -> AsyncIterator[WatchItem]:
        """Follow the changes of a folder (and its sub-folders with ``recursive=True``).

        Yields a `SecretChange` (``event``, ``environment``, ``secret_path``, ``key``) per
        changed secret, from the server's change events, and a `WatchResync` whenever
        changes may have been missed: after every reconnect (the server keeps no events
        for anyone; re-read what you follow when one arrives), and once with
        ``reason="polling"`` when the server turns out to have no change events.

        The watch survives: lost or silent streams (nothing for ``heartbeat_timeout``
        seconds) are reconnected with a capped, jittered backoff; a refused token is
        renewed by one new login (a second refusal raises). A server without change
        events (older than mid-2025, or a plan without them) is polled instead: the folder
        is listed every ``poll_interval`` seconds with ``If-None-Match`` and differences
        come out as the same items (imports are not followed then).

        It ends (the iteration finishes, no error) when the client is closed; close it
        earlier with ``aclose()`` on the iterator, or ``contextlib.aclosing``.

        Args:
            events: Which of ``"created"``, ``"updated"``, ``"deleted"`` and
                ``"imports_changed"`` to follow (default: all).

        Raises:
            PermissionDeniedError: the identity may not subscribe (after one re-login).
            AuthenticationError: the token is refused after one re-login.
        """
        project, env, path = self._scope(project_id, environment, secret_path)
        flag(recursive, "recursive")
        for name, value in (
            ("poll_interval", poll_interval),
            ("heartbeat_timeout", heartbeat_timeout),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidArgumentError(name, "must be a positive number of seconds")
        from .._watch import Watcher, WatchPolicy, WatchScope, check_events

        scope = WatchScope(
            project_id=project,
            environment=env,
            secret_path=path,
            recursive=recursive,
            events=check_events(events),
        )
        policy = WatchPolicy(poll_interval=poll_interval, heartbeat_timeout=heartbeat_timeout)
        return Watcher(self._client, scope, policy).items()

    async def load_into_environ(
        self,
        *,
        overwrite: bool = False,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = False,
        include_imports: bool = True,
        environ: MutableMapping[str, str] | None = None,
    ) -> builtins.dict[str, str]:
        """Put a path's secrets into ``os.environ`` (or into ``environ``).

        Variables that already exist are kept unless ``overwrite=True``; imported secrets
        yield to the path's own. A key the environment cannot hold (one containing ``=``
        or a NUL) is skipped with a warning that names it.

        Returns:
            The variables that were set, key to value.
        """
        listing = await self.list(
            project_id=project_id,
            environment=environment,
            secret_path=secret_path,
            recursive=recursive,
            include_imports=include_imports,
        )
        target = os.environ if environ is None else environ
        applied: builtins.dict[str, str] = {}
        for key, value in listing.to_dict().items():
            if "=" in key or "\0" in key or "\0" in value:
                log.warning("not exporting %s: not representable as an environment variable", key)
                continue
            if overwrite or key not in target:
                target[key] = value
                applied[key] = value
        return applied

    async def create(
        self,
        key: str,
        value: str,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        comment: str | None = None,
        tag_ids: Sequence[str] | None = None,
        type: SecretType = "shared",
        skip_multiline_encoding: bool | None = None,
        reminder_note: str | None = None,
        reminder_repeat_days: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Secret:
        """Create a secret. The server trims the value (keeping one trailing newline).

        Raises:
            BadRequestError: a secret with this key already exists.
            ApprovalRequiredError: a change-approval policy holds the write.
        """
        key = require_name(key, "key")
        if not isinstance(value, str):
            raise InvalidArgumentError("value", f"expected a string, got {type_name(value)}")
        project, env, path = self._scope(project_id, environment, secret_path)
        body = _drop_none(
            {
                "environment": env,
                "secretPath": path,
                "secretValue": value,
                "secretComment": comment,
                "type": _check_type(type),
                "tagIds": list(tag_ids) if tag_ids is not None else None,
                "skipMultilineEncoding": skip_multiline_encoding,
                "secretReminderNote": reminder_note,
                "secretReminderRepeatDays": reminder_repeat_days,
                "secretMetadata": _metadata(metadata),
            }
        )
        data = await self._call(
            "POST", "base", "/" + segment(key, "key"), project, body=body, mode=RetryMode.WRITE
        )
        return _expect_key(structure(unwrap(data, "secret"), Secret), key)

    async def update(
        self,
        key: str,
        *,
        value: str | None = None,
        new_key: str | None = None,
        comment: str | None = None,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        tag_ids: Sequence[str] | None = None,
        type: SecretType = "shared",
        skip_multiline_encoding: bool | None = None,
        reminder_note: str | None = None,
        reminder_repeat_days: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Secret:
        """Change a secret's value, key, comment or tags (``tag_ids`` replaces the set).

        Raises:
            NotFoundError: no such secret.
            ApprovalRequiredError: a change-approval policy holds the write.
        """
        key = require_name(key, "key")
        if new_key is not None:
            new_key = require_name(new_key, "new_key")
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError("value", f"expected a string, got {type_name(value)}")
        project, env, path = self._scope(project_id, environment, secret_path)
        body = _drop_none(
            {
                "environment": env,
                "secretPath": path,
                "secretValue": value,
                "newSecretName": new_key,
                "secretComment": comment,
                "type": _check_type(type),
                "tagIds": list(tag_ids) if tag_ids is not None else None,
                "skipMultilineEncoding": skip_multiline_encoding,
                "secretReminderNote": reminder_note,
                "secretReminderRepeatDays": reminder_repeat_days,
                "secretMetadata": _metadata(metadata),
            }
        )
        data = await self._update(key, project, body, renaming=new_key is not None)
        return _expect_key(structure(unwrap(data, "secret"), Secret), new_key or key)

    async def _update(self, key: str, project: str, body: dict[str, Any], *, renaming: bool) -> Any:
        """PATCH a secret. A rename without a value, which an October-2024 server refuses
        (``secretValue`` required), is sent again with the secret's current value."""
        generations = self._state.generations
        needs_value = renaming and "secretValue" not in body
        if needs_value and generations.rename_needs_value:
            body = {**body, "secretValue": await self._current_value(key, project, body)}
        try:
            return await self._call(
                "PATCH",
                "base",
                "/" + segment(key, "key"),
                project,
                body=body,
                mode=RetryMode.WRITE,
            )
        except UnprocessableEntityError as exc:
            if not needs_value or generations.rename_needs_value or not _value_required(exc):
                raise
        generations.rename_needs_value = True
        body = {**body, "secretValue": await self._current_value(key, project, body)}
        return await self._call(
            "PATCH", "base", "/" + segment(key, "key"), project, body=body, mode=RetryMode.WRITE
        )

    async def _current_value(self, key: str, project: str, body: dict[str, Any]) -> str:
        """The stored (unexpanded) value of a secret, to resend with a rename. Not atomic:
        a write landing between this read and the rename is overwritten."""
        params = {
            "environment": body["environment"],
            "secretPath": body["secretPath"],
            "type": body["type"],
            "include_imports": "false",
            "expandSecretReferences": "false",
            "viewSecretValue": "true",
        }
        data = await self._call(
            "GET",
            "base",
            "/" + segment(key, "key"),
            project,
            params=params,
            mode=RetryMode.IDEMPOTENT,
        )
        return _expect_key(structure(unwrap(data, "secret"), Secret), key).value

    async def delete(
        self,
        key: str,
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        type: SecretType = "shared",
    ) -> Secret | None:
        """Delete a secret and return it as it was.

        Returns:
            The deleted secret; ``None`` when a retry after a lost answer found it already
            gone (the earlier attempt deleted it).

        Raises:
            NotFoundError: no such secret (for instance, already deleted).
        """
        key = require_name(key, "key")
        project, env, path = self._scope(project_id, environment, secret_path)
        body = {"environment": env, "secretPath": path, "type": _check_type(type)}
        data = await self._call(
            "DELETE",
            "base",
            "/" + segment(key, "key"),
            project,
            body=body,
            mode=RetryMode.DELETE,
        )
        if data is None:
            return None
        return _expect_key(structure(unwrap(data, "secret"), Secret), key)

    async def batch_create(
        self,
        secrets: Sequence[NewSecret] | Mapping[str, str],
        *,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
    ) -> tuple[Secret, ...]:
        """Create several secrets in one request; it fails whole if any key exists.

        Args:
            secrets: ``NewSecret`` items, or a ``{key: value}`` mapping.
        """
        items = (
            [NewSecret(key=k, value=v) for k, v in secrets.items()]
            if isinstance(secrets, Mapping)
            else list(secrets)
        )
        if not items:
            raise InvalidArgumentError("secrets", "must contain at least one secret")
        for item in items:
            if not isinstance(item, NewSecret):
                raise InvalidArgumentError("secrets", "items must be NewSecret instances")
            require_name(item.key, "secrets[].key")
        project, env, path = self._scope(project_id, environment, secret_path)
        body = {
            "environment": env,
            "secretPath": path,
            "secrets": [_drop_none(unstructure(i)) for i in items],
        }
        data = await self._call("POST", "batch", "", project, body=body, mode=RetryMode.WRITE)
        return structure(unwrap(data, "secrets"), tuple[Secret, ...])

    async def batch_update(
        self,
        secrets: Sequence[SecretUpdate],
        *,
        mode: BatchUpdateMode = "fail_on_not_found",
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
    ) -> tuple[Secret, ...]:
        """Update several secrets in one request.

        Args:
            mode: For keys that do not exist: ``"fail_on_not_found"`` (default: the whole
                batch fails), ``"ignore"`` (skip them) or ``"upsert"`` (create them).
        """
        wire_mode = _BATCH_MODES.get(mode) if isinstance(mode, str) else None
        if wire_mode is None:
            raise InvalidArgumentError("mode", "must be 'fail_on_not_found', 'ignore' or 'upsert'")
        items = list(secrets)
        if not items:
            raise InvalidArgumentError("secrets", "must contain at least one update")
        for item in items:
            if not isinstance(item, SecretUpdate):
                raise InvalidArgumentError("secrets", "items must be SecretUpdate instances")
            require_name(item.key, "secrets[].key")
        project, env, path = self._scope(project_id, environment, secret_path)
        body = {
            "environment": env,
            "secretPath": path,
            "mode": wire_mode,
            "secrets": [_drop_none(unstructure(i)) for i in items],
        }
        data = await self._call("PATCH", "batch", "", project, body=body, mode=RetryMode.WRITE)
        return structure(unwrap(data, "secrets"), tuple[Secret, ...])

    async def batch_delete(
        self,
        keys: Sequence[str],
        *,
        type: SecretType = "shared",
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
    ) -> tuple[Secret, ...]:
        """Delete several secrets by key in one request.

        Returns:
            The deleted secrets; empty when a retry after a lost answer found them already
            gone (the earlier attempt deleted them).
        """
        if isinstance(keys, str) or not keys:
            raise InvalidArgumentError("keys", "must be a non-empty sequence of keys")
        checked = [require_name(k, "keys[]") for k in keys]
        project, env, path = self._scope(project_id, environment, secret_path)
        body = {
            "environment": env,
            "secretPath": path,
            "secrets": [{"secretKey": k, "type": _check_type(type)} for k in checked],
        }
        data = await self._call("DELETE", "batch", "", project, body=body, mode=RetryMode.DELETE)
        if data is None:
            return ()
        return structure(unwrap(data, "secrets"), tuple[Secret, ...])


class _Outcome:
    """What a shared read came to, for the identical calls that waited on it."""

    __slots__ = ("abandoned", "error", "traceback", "value")

    def __init__(
        self,
        *,
        value: Any = None,
        error: Exception | None = None,
        traceback: TracebackType | None = None,
        abandoned: bool = False,
    ) -> None:
        self.value = value
        self.error = error
        self.traceback = traceback
        self.abandoned = abandoned


_ABANDONED = _Outcome(abandoned=True)


async def _follow(shared: asyncio.Future[_Outcome], deadline: float | None) -> _Outcome:
    """Wait for an identical read in flight, until this call's deadline at most.

    ``asyncio.wait`` leaves the shared read running when we stop waiting, and, unlike
    ``wait_for`` before Python 3.12, never trades our own cancellation for its result.
    """
    if deadline is None:
        await asyncio.wait((shared,))
    else:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.wait((shared,), timeout=remaining)
        if not shared.done():
            raise APITimeoutError(
                "the call's deadline passed while waiting for an identical read in flight",
                method="GET",
                path="secrets",
            )
    return shared.result()


async def _within(deadline: float | None, read: Coroutine[Any, Any, T]) -> T:
    """``read``, given no more than what is left until ``deadline``.

    The read runs in a task of its own, waited on with ``asyncio.wait``: unlike
    ``wait_for`` before Python 3.12, it never trades our cancellation for the read's
    result, and when we stop waiting (cancelled, or out of time) the read is cancelled.
    """
    if deadline is None:
        return await read
    remaining = deadline - asyncio.get_running_loop().time()
    if remaining <= 0:
        read.close()  # never started
        raise APITimeoutError("the call's deadline passed", method="GET", path="secrets")
    task = asyncio.ensure_future(read)
    task.add_done_callback(_retrieved)
    try:
        done, _ = await asyncio.wait((task,), timeout=remaining)
    except BaseException:  # we are cancelled: the read goes with us, cleaned up
        task.cancel()
        await _settled(task)
        raise
    if not done:
        task.cancel()
        if await _settled(task):
            raise asyncio.CancelledError
        raise APITimeoutError("the call's deadline passed", method="GET", path="secrets")
    return task.result()


async def _settled(task: asyncio.Future[Any]) -> bool:
    """Wait until a cancelled read has cleaned up (it may release a shared cache's lock),
    as ``wait_for`` does; True if we were cancelled meanwhile (the caller re-raises)."""
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait((task,))
        except asyncio.CancelledError:
            cancelled = True
    return cancelled


def _retrieved(task: asyncio.Future[Any]) -> None:
    """A read we stopped waiting for may still fail: that is not "never retrieved"."""
    if not task.cancelled():
        task.exception()


def _own_copy(error: Exception) -> Exception:
    """The shared read's error for one more caller: a copy of our own exception types,
    without the first caller's context (the exception it was handling) or traceback,
    which are not the others' to see, and which their raising must not change.
    Exceptions of other kinds (bugs) cannot be copied safely and are shared as they are.
    """
    if not isinstance(error, InfisicalError):
        return error
    copy = error.__class__.__new__(error.__class__)
    copy.args = error.args
    for name, value in error.__dict__.items():
        if name == "__notes__":  # added by the first caller's handlers: its own business
            continue
        # Containers (issues, errors, details) are copied too: no caller changes another's.
        copy.__dict__[name] = value.copy() if isinstance(value, (list, dict)) else value
    return copy


def _expect_key(secret: Secret, key: str) -> Secret:
    """An answer about another secret than the one asked for is not an answer."""
    if secret.key != key:
        raise ResponseValidationError(
            "the server answered with a different secret than the one requested: $.secret.secretKey"
        )
    return secret


def _value_required(exc: UnprocessableEntityError) -> bool:
    return any(issue.get("path") == ["secretValue"] for issue in exc.issues)


def type_name(value: object) -> str:
    return type(value).__name__


def _metadata(metadata: Mapping[str, str] | None) -> list[dict[str, Any]] | None:
    if metadata is None:
        return None
    return [unstructure(SecretMetadata(key=k, value=v)) for k, v in metadata.items()]
