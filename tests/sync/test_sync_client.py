"""The generated sync client: the async behaviour tests mirrored, and the runner's promises."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import threading
import time
from datetime import timedelta

import pytest

import infisical_async
import infisical_sync
from infisical_async.testing import EmbeddedServer
from infisical_sync import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ClientForkedError,
    InfisicalClient,
    LeaseRevocationError,
    NotFoundError,
    UniversalAuth,
)
from infisical_sync._runner import PortalRunner

from ..client.test_dynamic_secrets import pg_provider
from ..server.test_dynamic_routes import pg_login_works
from .conftest import make_sync_client

LOGIN = "POST /api/v1/auth/universal-auth/login"


def test_login_and_secrets_crud(
    sync_client: InfisicalClient, threaded_server: EmbeddedServer
) -> None:
    assert threaded_server.control.request_count(LOGIN) == 0  # lazy
    created = sync_client.secrets.create("DB", " v1 ")
    assert (created.key, created.value) == ("DB", "v1")
    assert sync_client.secrets.get("DB").value == "v1"
    assert sync_client.secrets.update("DB", value="v2", new_key="DB2").version == 2
    assert sync_client.secrets.list().to_dict() == {"DB2": "v2"}
    sync_client.secrets.batch_create({"A": "1"})
    assert [s.key for s in sync_client.secrets.batch_delete(["A"])] == ["A"]
    sync_client.secrets.delete("DB2")
    with pytest.raises(NotFoundError):
        sync_client.secrets.delete("DB2")
    sync_client.folders.create("app")
    assert [f.name for f in sync_client.folders.list()] == ["app"]
    assert threaded_server.control.request_count(LOGIN) == 1


def test_errors_are_the_async_classes(sync_client: InfisicalClient) -> None:
    assert infisical_sync.NotFoundError is infisical_async.NotFoundError
    assert infisical_sync.Secret is infisical_async.Secret
    with pytest.raises(infisical_async.NotFoundError):
        sync_client.secrets.get("MISSING")
    sync_client.secrets.create("DUP", "1")
    with pytest.raises(BadRequestError):
        sync_client.secrets.create("DUP", "1")
    with pytest.raises(infisical_async.InvalidArgumentError):
        sync_client.secrets.get("")


def test_wrong_credentials(threaded_server: EmbeddedServer) -> None:
    with (
        make_sync_client(
            threaded_server,
            auth=UniversalAuth(client_id=threaded_server.info.client_id, client_secret="nope"),
        ) as client,
        pytest.raises(AuthenticationError),
    ):
        client.secrets.list()


def test_expired_token_relogin(
    sync_client: InfisicalClient, threaded_server: EmbeddedServer
) -> None:
    sync_client.secrets.list()
    threaded_server.control.expire_all_tokens()
    sync_client.secrets.list()
    assert threaded_server.control.request_count(LOGIN) == 2
    token = sync_client.auth.access_token
    assert token is not None
    sync_client.auth.revoke()
    assert sync_client.auth.access_token is None
    sync_client.auth.set_access_token(token)
    assert sync_client.auth.access_token == token


def test_leases_and_keeper(databases: dict[str, str]) -> None:
    with (
        EmbeddedServer(allow_short_ttl=True).run_in_thread() as server,
        make_sync_client(server, min_ttl=timedelta(seconds=1)) as client,
    ):
        dsn = databases["postgres"]
        client.dynamic_secrets.create(
            "pg", provider=pg_provider(dsn), default_ttl="1h", max_ttl="2h"
        )
        lease = client.dynamic_secrets.leases.create("pg", ttl="5m")
        creds = lease.credentials or {}
        assert asyncio.run(pg_login_works(dsn, creds["DB_USERNAME"], creds["DB_PASSWORD"]))
        renewed = client.dynamic_secrets.leases.renew(lease.id, ttl="5m")
        assert renewed.expire_at > lease.expire_at
        client.dynamic_secrets.leases.delete(lease.id)
        with pytest.raises(NotFoundError):
            client.dynamic_secrets.leases.delete(lease.id)
        with client.dynamic_secrets.leases.keep("pg", ttl="2s") as held:
            kept = dict(held.credentials)
            time.sleep(1.6)
            assert held.renewals >= 1
        assert server.control.active_leases == 0
        assert not asyncio.run(pg_login_works(dsn, kept["DB_USERNAME"], kept["DB_PASSWORD"]))
        assert LeaseRevocationError is infisical_async.LeaseRevocationError


def test_32_threads_by_50_calls(threaded_server: EmbeddedServer) -> None:
    with make_sync_client(threaded_server) as client:
        client.secrets.create("K", "v")
        failures: list[BaseException] = []
        values: list[str] = []

        def worker() -> None:
            try:
                for _ in range(50):
                    values.append(client.secrets.get("K").value)
            except BaseException as exc:  # collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert values == ["v"] * 1600
        assert threaded_server.control.request_count(LOGIN) == 1


def test_usable_inside_a_running_event_loop(sync_client: InfisicalClient) -> None:
    sync_client.secrets.create("K", "v")

    async def inside() -> str:
        return sync_client.secrets.get("K").value

    assert asyncio.run(inside()) == "v"


def test_ctrl_c_cancels_the_call_on_the_loop() -> None:
    runner = PortalRunner()
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.call(slow)
        assert cancelled.wait(5)
    finally:
        timer.cancel()
        runner.close(None)


def test_close_is_idempotent_from_another_thread_and_leaks_no_thread(
    threaded_server: EmbeddedServer,
) -> None:
    before = {t.ident for t in threading.enumerate()}
    client = make_sync_client(threaded_server)
    client.secrets.list()
    assert len({t.ident for t in threading.enumerate()} - before) == 1  # the portal thread
    closer = threading.Thread(target=client.close)
    closer.start()
    closer.join()
    client.close()
    assert {t.ident for t in threading.enumerate()} == before
    with pytest.raises(ClientClosedError):
        client.secrets.list()


def test_with_options_view_does_not_close_the_client(sync_client: InfisicalClient) -> None:
    view = sync_client.with_options(timeout=5, max_retries=0)
    view.close()
    assert view.secrets.list().secrets == ()
    assert not sync_client.closed


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX-only")
# Forking a threaded process is the very situation under test; the child only hits our guard.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_use_in_a_forked_child_is_refused(sync_client: InfisicalClient) -> None:
    sync_client.secrets.list()
    pid = os.fork()
    if pid == 0:  # child: must refuse, not hang
        code = 1
        try:
            sync_client.secrets.list()
        except ClientForkedError:
            code = 0
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sync_client.secrets.list()  # the parent is unaffected


def _async_classes() -> list[tuple[type, type]]:
    import infisical_sync._client as sync_client_mod
    from infisical_async import resources

    pairs: list[tuple[type, type]] = [
        (infisical_async.AsyncInfisicalClient, sync_client_mod.InfisicalClient)
    ]
    for name in resources.__all__:
        cls = getattr(resources, name)
        module = cls.__module__.replace("infisical_async", "infisical_sync")
        twin = getattr(__import__(module, fromlist=["x"]), name[len("Async") :])
        pairs.append((cls, twin))
    return pairs


@pytest.mark.parametrize(
    ("async_cls", "sync_cls"), _async_classes(), ids=lambda c: getattr(c, "__name__", "?")
)
def test_every_public_coroutine_has_a_twin_with_the_same_signature(
    async_cls: type, sync_cls: type
) -> None:
    checked = 0
    for name, member in inspect.getmembers(async_cls):
        if name.startswith("_"):
            continue
        twin_name = "close" if name == "aclose" else name
        twin = getattr(sync_cls, twin_name, None)
        assert twin is not None, f"{sync_cls.__name__}.{twin_name} is missing"
        if inspect.iscoroutinefunction(member) and name != "aclose":
            assert inspect.signature(twin) == inspect.signature(member), name
            assert inspect.getdoc(twin) is not None
            checked += 1
        elif name == "keep":
            async_sig, sync_sig = inspect.signature(member), inspect.signature(twin)
            assert list(async_sig.parameters) == list(sync_sig.parameters)
            checked += 1
    # Every namespace has coroutines; the client's only one (aclose) becomes close().
    assert checked > 0 or async_cls is infisical_async.AsyncInfisicalClient


def test_cache_hits_are_answered_without_the_loop_thread(threaded_server: EmbeddedServer) -> None:
    with make_sync_client(threaded_server, cache_ttl=60) as client:
        client.secrets.create("K", "v")
        assert client.secrets.get("K").value == "v"  # a miss: goes to the loop
        assert len(client.secrets.list()) == 1
        runner = client._runner
        original = runner.call

        def refuse(*args: object, **kwargs: object) -> object:
            raise AssertionError("a cache hit crossed to the loop thread")

        runner.call = refuse  # type: ignore[method-assign]
        try:
            assert client.secrets.get("K").value == "v"
            assert len(client.secrets.list()) == 1
        finally:
            runner.call = original  # type: ignore[method-assign]
        client.secrets.update("K", value="v2")
        assert client.secrets.get("K").value == "v2"  # invalidated by the write


def test_calls_from_the_loop_thread_are_refused_not_deadlocked(
    sync_client: InfisicalClient,
) -> None:
    async def from_the_loop() -> None:
        sync_client.secrets.list()

    with pytest.raises(RuntimeError, match="own event-loop thread"):
        sync_client._runner.call(from_the_loop)


def test_closing_during_a_call_ends_it_with_client_closed(threaded_server: EmbeddedServer) -> None:
    client = make_sync_client(threaded_server)
    client.secrets.list()
    threaded_server.control.delay_next(1, seconds=5, path="/secrets")
    threading.Timer(0.2, client.close).start()
    started = time.monotonic()
    with pytest.raises(ClientClosedError):
        client.secrets.list()
    assert time.monotonic() - started < 4


def test_the_sync_package_reexports_every_public_name() -> None:
    expected = set(infisical_async.__all__) - {"AsyncInfisicalClient"}
    assert expected <= set(infisical_sync.__all__)
    for name in expected:
        assert getattr(infisical_sync, name) is getattr(infisical_async, name)


def test_sync_twins_of_auth_methods_and_kms(threaded_server: EmbeddedServer) -> None:
    threaded_server.control.configure_ldap_auth(users={"bob": "pw"})
    with make_sync_client(threaded_server) as client:
        client.auth.ldap.login(threaded_server.info.identity_id, username="bob", password="pw")
        key = client.kms.keys.create("sync-key")
        assert client.kms.decrypt(key.id, client.kms.encrypt(key.id, b"payload")) == b"payload"
        assert [e.slug for e in client.projects.list_environments()] == ["dev", "staging", "prod"]
