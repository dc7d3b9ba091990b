"""`RedisCache`: an encrypted cache shared by processes through Redis (redis-py asyncio).

Layout (every name part is an HMAC under a key derived from the user's secret, so Redis
shows neither sites, projects, identities nor secret names)::

    {prefix}:{site}:{project}:gen                       the project's generation (INCR)
    {prefix}:{site}:{project}:{gen}:{identity}:{read}   an entry (AES-GCM, PX ttl)
    {prefix}:lock:{entry name}                          its single-flight lock (PX)
    {prefix}:invalidations                              the pub/sub channel

A write increments the project's generation: every entry of the older generation is
unreachable at once (and expires by its TTL), and a read that began before the write
stores its answer under the old generation, where nobody looks.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets as secrets_module
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from .cache import CachedAnswer, CacheLock, CacheLookup, EntryKey, InvalidationListener
from .errors import InvalidArgumentError

__all__ = ["RedisCache"]

log = logging.getLogger("infisical_async.cache")
T = TypeVar("T")

MIN_SECRET_BYTES = 16
FORMAT = b"\x01"
NONCE_BYTES = 12

# One round trip: the project's generation, then the entry under it.
_GET_SCRIPT = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ARGV[2])}
"""
# Release a lock only if it still holds our token (it may have expired and been retaken).
_RELEASE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"infisical-async cache", info=purpose
    ).derive(secret)


class _Lock:
    def __init__(self, cache: RedisCache, name: str, token: str) -> None:
        self._cache = cache
        self._name = name
        self._token = token

    async def release(self) -> None:
        await self._cache._guard(
            lambda redis: self._cache._release(keys=[self._name], args=[self._token]),
            None,
        )


class _Unlocked:
    """Handed out when Redis cannot be asked: the caller fetches by itself."""

    async def release(self) -> None:
        return None


class RedisCache:
    """A cache shared by every process that uses the same Redis and ``secret``.

    Entries are encrypted with AES-256-GCM under a key derived (HKDF-SHA256) from
    ``secret``, with a random nonce each and the entry's Redis key as associated data (an
    entry copied under another key does not decrypt). An entry that does not decrypt is a
    miss. Every Redis operation is bounded by ``op_timeout``; while Redis fails, reads go
    to Infisical and Redis is tried again after ``retry_after`` seconds (one WARNING per
    outage).

    Args:
        url: ``redis://`` or ``rediss://`` URL (``redis.asyncio.Redis.from_url``).
        secret: At least 16 bytes (or characters) shared by the fleet, e.g. from your
            deployment's secret store; required. Changing it orphans every entry.
        ttl: Seconds an answer stays in Redis: a fleet fetches each entry once per ttl.
        lock_ttl: Seconds a single-flight lock lives; when a fetching process dies, the
            others fetch after at most this long (or after ``wait``).
        wait: Longest wait for another process's fetch (also bounded by half of what is
            left of the call's deadline); then the caller fetches itself.
        poll_interval: Seconds between looks at an entry another process is fetching.
        op_timeout: Bound of every Redis operation, in seconds.
        retry_after: Seconds to leave Redis alone after it failed.
        prefix: First part of every Redis key and of the channel name.
        redis_options: More keyword arguments for ``Redis.from_url`` (``ssl_ca_certs``,
            ``username``, ``password``, ...).
        clock: Monotonic clock (for tests).
        sleep: ``asyncio.sleep`` (for tests).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        secret: str | bytes,
        ttl: float = 60.0,
        lock_ttl: float = 10.0,
        wait: float = 5.0,
        poll_interval: float = 0.02,
        op_timeout: float = 0.5,
        retry_after: float = 5.0,
        prefix: str = "infisical",
        redis_options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if isinstance(secret, str):
            secret = secret.encode()
        if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
            raise InvalidArgumentError(
                "secret",
                f"RedisCache needs a secret of at least {MIN_SECRET_BYTES} bytes to encrypt "
                "entries with; it never stores plaintext",
            )
        for name, value in (
            ("ttl", ttl),
            ("lock_ttl", lock_ttl),
            ("op_timeout", op_timeout),
            ("poll_interval", poll_interval),
        ):
            if not isinstance(value, (int, float)) or value <= 0:
                raise InvalidArgumentError(name, "must be a positive number of seconds")
        for name, value in (("wait", wait), ("retry_after", retry_after)):
            if not isinstance(value, (int, float)) or value < 0:
                raise InvalidArgumentError(name, "must be >= 0 seconds")
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise InvalidArgumentError("url", "must be a redis://, rediss:// or unix:// URL")
        if not prefix or ":" in prefix:
            raise InvalidArgumentError("prefix", "must be non-empty and contain no ':'")
        try:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError(
                'RedisCache needs the "redis" extra: pip install "infisical-async[redis]"'
            ) from None
        self._url = url
        self._aead = AESGCM(_derive(secret, b"entries v1"))
        self._names = _derive(secret, b"names v1")
        self._ttl = float(ttl)
        self._lock_ttl = float(lock_ttl)
        self._wait = float(wait)
        self._poll_interval = float(poll_interval)
        self._op_timeout = float(op_timeout)
        self._retry_after = float(retry_after)
        self._prefix = prefix
        self._channel = f"{prefix}:invalidations"
        self._options = dict(redis_options or {})
        self._clock = clock
        self._sleep = sleep
        self._redis: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = os.getpid()
        self._errors: tuple[type[Exception], ...] = ()
        """redis-py's own exception classes (known once it is imported)."""
        self._get: Any = None
        self._release: Any = None
        self._down_until: float | None = None
        """While Redis is failing: when to try it again."""
        self._undecryptable_logged = False
        self._listeners: list[InvalidationListener] = []
        self._listener_task: asyncio.Task[None] | None = None
        self._subscribed: asyncio.Event | None = None

    def __repr__(self) -> str:
        # The URL may carry a password: show the host part only.
        host = self._url.split("@")[-1].split("://")[-1]
        return f"RedisCache(host={host!r}, ttl={self._ttl:g})"

    @property
    def ttl(self) -> float:
        return self._ttl

    @property
    def wait(self) -> float:
        return self._wait

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    # -- names and sealing ---------------------------------------------------------------

    def _name(self, part: str) -> str:
        return hmac.new(self._names, part.encode(), hashlib.sha256).hexdigest()[:32]

    def _project_prefix(self, site_url: str, project_id: str) -> str:
        return f"{self._prefix}:{self._name('site:' + site_url)}:{self._name('p:' + project_id)}"

    def _entry_parts(self, key: EntryKey) -> tuple[str, str, str]:
        """(generation key, entry name before the generation, after it)."""
        project = self._project_prefix(key.site_url, key.project_id)
        tail = f":{self._name('id:' + key.identity)}:{self._name('read:' + key.request)}"
        return project + ":gen", project + ":", tail

    def _entry_name(self, key: EntryKey, stamp: object) -> str:
        _, head, tail = self._entry_parts(key)
        return f"{head}{stamp}{tail}"

    def _seal(self, name: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + nonce + self._aead.encrypt(nonce, plaintext, name.encode())

    def _open(self, name: str, blob: bytes) -> bytes | None:
        from cryptography.exceptions import InvalidTag

        if not blob.startswith(FORMAT) or len(blob) < 1 + NONCE_BYTES + 16:
            return None
        nonce = blob[1 : 1 + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[1 + NONCE_BYTES :], name.encode())
        except InvalidTag:
            return None

    # -- Redis, time-bounded --------------------------------------------------------------

    def _bind(self) -> None:
        """Serve one event loop at a time: connections and the subscriber belong to it."""
        loop = asyncio.get_running_loop()
        bound = self._loop
        if bound is None or bound is loop:
            return
        if bound.is_closed() or self._pid != os.getpid():  # over, or the parent's (fork)
            self._redis = self._listener_task = self._loop = None
            self._pid = os.getpid()
            return
        raise InvalidArgumentError(
            "cache",
            "this RedisCache is in use by another event loop; give each client that runs "
            "its own loop (every blocking client does) its own RedisCache",
        )

    def _connection(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            try:
                import redis.asyncio as redis_asyncio
            except ImportError:
                raise ImportError(
                    'RedisCache needs the "redis" extra: pip install "infisical-async[redis]"'
                ) from None
            options: dict[str, Any] = {
                "socket_timeout": self._op_timeout,
                "socket_connect_timeout": self._op_timeout,
                **self._options,
            }
            # A connection is bound to the loop that opened it (the blocking client runs
            # its own loop); one from another loop is dropped, not shared.
            from redis.exceptions import RedisError

            self._errors = (RedisError,)
            self._redis = redis_asyncio.Redis.from_url(self._url, **options)
            self._loop = loop
            self._get = self._redis.register_script(_GET_SCRIPT)
            self._release = self._redis.register_script(_RELEASE_SCRIPT)
        return self._redis

    async def _guard(self, op: Callable[[Any], Awaitable[T]], failed: T) -> T:
        """Run ``op`` on Redis within ``op_timeout``; on any failure, ``failed``."""
        if self._down_until is not None and self._clock() < self._down_until:
            return failed
        try:
            redis = self._connection()
            result = await asyncio.wait_for(op(redis), self._op_timeout)
        except self._failures() as exc:
            self._outage(exc)
            return failed
        if self._down_until is not None:
            self._down_until = None
            log.warning("the shared cache answers again")
        return result

    def _failures(self) -> tuple[type[BaseException], ...]:
        """What an unreachable, slow or refusing Redis raises (not our own bugs)."""
        return (asyncio.TimeoutError, OSError, *self._errors)

    def _outage(self, exc: BaseException) -> None:
        if self._down_until is None:
            # The type only: redis-py messages can quote keys or the URL.
            log.warning(
                "the shared cache (Redis) failed (%s); reading from Infisical until it "
                "answers again",
                type(exc).__name__,
            )
        self._down_until = self._clock() + self._retry_after

    # -- the protocol ---------------------------------------------------------------------

    async def get(self, key: EntryKey) -> CacheLookup:
        self._bind()
        await self._listen()
        gen_key, head, tail = self._entry_parts(key)
        answer = await self._guard(lambda redis: self._get(keys=[gen_key], args=[head, tail]), None)
        if answer is None:
            return CacheLookup(None, None)
        generation, blob = answer
        stamp = generation.decode() if isinstance(generation, bytes) else str(generation)
        if blob is None:
            return CacheLookup(None, stamp)
        plaintext = self._open(head + stamp + tail, blob)
        if plaintext is None:
            if not self._undecryptable_logged:
                self._undecryptable_logged = True
                log.warning(
                    "a shared cache entry does not decrypt (written with another secret, or "
                    "tampered with); treating it as a miss"
                )
            return CacheLookup(None, stamp)
        stored = json.loads(plaintext)
        return CacheLookup(CachedAnswer(stored["data"], stored["etag"]), stamp)

    async def put(self, key: EntryKey, answer: CachedAnswer, *, ttl: float, stamp: object) -> None:
        self._bind()
        if stamp is None:  # the lookup failed: we do not know the generation
            return
        name = self._entry_name(key, stamp)
        blob = self._seal(name, json.dumps({"data": answer.data, "etag": answer.etag}).encode())
        await self._guard(lambda redis: redis.set(name, blob, px=max(1, int(ttl * 1000))), None)

    async def lock(self, key: EntryKey, *, stamp: object) -> CacheLock | None:
        self._bind()
        if stamp is None:
            return _Unlocked()
        name = f"{self._prefix}:lock:{self._name('lock:' + self._entry_name(key, stamp))}"
        token = secrets_module.token_hex(16)
        taken = await self._guard(
            lambda redis: redis.set(name, token, nx=True, px=int(self._lock_ttl * 1000)),
            "unreachable",
        )
        if taken == "unreachable":
            return _Unlocked()
        return _Lock(self, name, token) if taken else None

    async def invalidate_project(self, site_url: str, project_id: str) -> None:
        self._bind()
        await self._listen()
        gen_key = self._project_prefix(site_url, project_id) + ":gen"
        message = self._seal(
            self._channel, json.dumps({"site": site_url, "project": project_id}).encode()
        )

        async def invalidate(redis: Any) -> None:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.incr(gen_key)
                pipe.publish(self._channel, message)
                await pipe.execute()

        await self._guard(invalidate, None)

    def subscribe(self, listener: InvalidationListener) -> Callable[[], Awaitable[None]]:
        self._listeners.append(listener)

        async def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)
            if not self._listeners:
                await self.aclose()

        return unsubscribe

    async def aclose(self) -> None:
        """Stop listening and close the connections (reopened if used again).

        Called by itself when the last client using this cache closes."""
        task, self._listener_task = self._listener_task, None
        bound, running = self._loop, asyncio.get_running_loop()
        if bound is not None and bound is not running:
            # Another loop's (or a forked parent's) task and connections: never await
            # them from here; stop the task on its own loop if that loop still runs.
            if task is not None and not bound.is_closed() and self._pid == os.getpid():
                bound.call_soon_threadsafe(task.cancel)
            self._redis = self._loop = None
            return
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        redis, self._redis = self._redis, None
        self._loop = None
        if redis is not None:
            with contextlib.suppress(Exception):
                await redis.aclose()

    # -- invalidations from other processes -----------------------------------------------

    async def _listen(self) -> None:
        """Start the subscriber (once per loop) and give it ``op_timeout`` to subscribe,
        so that a write made right after a process's first read reaches it."""
        if not self._listeners:
            return
        loop = asyncio.get_running_loop()
        task = self._listener_task
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._subscribed = subscribed = asyncio.Event()
        self._listener_task = loop.create_task(self._listener_loop(subscribed))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(subscribed.wait(), self._op_timeout)

    async def _listener_loop(self, subscribed: asyncio.Event) -> None:
        lost = False
        while True:
            pubsub = None
            try:
                pubsub = self._connection().pubsub()
                await asyncio.wait_for(pubsub.subscribe(self._channel), self._op_timeout)
                subscribed.set()
                if lost:  # invalidations sent meanwhile are gone: drop everything
                    self._notify(None, None)
                    lost = False
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None and message.get("type") == "message":
                        self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except self._failures() as exc:
                lost = True
                self._outage(exc)
                await self._sleep(min(self._retry_after, 1.0))
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.shield(pubsub.aclose())

    def _received(self, blob: Any) -> None:
        plaintext = self._open(self._channel, blob) if isinstance(blob, bytes) else None
        if plaintext is None:
            return  # another secret's fleet (or noise): not ours
        message = json.loads(plaintext)
        self._notify(message["site"], message["project"])

    def _notify(self, site_url: str | None, project_id: str | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(site_url, project_id)
            except Exception:
                log.exception("a shared-cache invalidation listener failed")
