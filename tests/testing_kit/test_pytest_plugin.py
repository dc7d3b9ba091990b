"""The shipped pytest plugin, run as a user would: pytest in a subprocess on a test file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

USER_TESTS = """
import pytest
from infisical_async import APIConnectionError
from infisical_sync import InfisicalClient, UniversalAuth

PORTS = []


def client_for(server):
    info = server.info
    return InfisicalClient(
        site_url=info.site_url, project_id=info.project_id, environment="dev", max_retries=0,
        auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
    )


def test_session_server_first(infisical_session_server):
    PORTS.append(infisical_session_server.port)
    infisical_session_server.control.seed({"SHARED": "1"}, path="/app", folders=["/app/sub"])
    infisical_session_server.control.fail_next(5, status=503)
    infisical_session_server.control.stop()


def test_session_server_is_shared_and_reset(infisical_session_server):
    assert PORTS == [infisical_session_server.port]  # the same server
    control = infisical_session_server.control
    assert control.listening and control.requests == {}  # restarted, counters reset
    with client_for(infisical_session_server) as client:
        assert client.secrets.get("SHARED", secret_path="/app").value == "1"  # no fault left
        assert [f.name for f in client.folders.list(secret_path="/app")] == ["sub"]
        control.stop()
        with pytest.raises(APIConnectionError):
            client.secrets.get("SHARED", secret_path="/app")
        control.start()
        assert client.secrets.get("SHARED", secret_path="/app").value == "1"


def test_module_server(infisical_module_server):
    assert infisical_module_server.port not in PORTS


def test_env_fixture(infisical_env, infisical_server):
    infisical_server.control.seed({"FROM_ENV": "yes"})
    with InfisicalClient.from_env() as client:
        assert client.secrets.get("FROM_ENV").value == "yes"
    assert infisical_env.site_url == infisical_server.info.site_url


def test_default_compat(infisical_server):
    assert infisical_server.config.compat == COMPAT


@pytest.mark.infisical_compat("2024")
def test_marked_compat(infisical_server):
    assert infisical_server.config.compat == "2024"


def test_seed_names_a_wrong_environment(infisical_server):
    with pytest.raises(ValueError, match="the server has dev, staging, prod"):
        infisical_server.control.seed({"A": "b"}, environment="production")
"""


def run_pytest(
    tmp_path: Path, *args: str, compat: str = "current"
) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_user.py"
    test_file.write_text(USER_TESTS.replace("== COMPAT", f"== {compat!r}"))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the user's project, not ours
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_fixtures_as_a_user_runs_them(tmp_path: Path) -> None:
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "7 passed" in result.stdout


def test_compat_from_the_command_line(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, "--infisical-compat", "2024", "-k", "compat", compat="2024")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    bogus = run_pytest(tmp_path, "--infisical-compat", "1999", "-k", "default_compat")
    assert bogus.returncode == 1 and "compat must be" in bogus.stdout


def test_importing_the_plugin_stays_cheap() -> None:
    code = textwrap.dedent(
        """
        import sys
        import infisical_async.testing.pytest_plugin
        heavy = [m for m in sys.modules if m == "aiohttp.web"
                 or m.startswith("infisical_async.testing._")]
        assert not heavy, heavy
        from infisical_async.testing import EmbeddedServer  # still importable by name
        assert EmbeddedServer.__name__ == "EmbeddedServer"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_a_missing_driver_is_named_in_the_error() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["asyncpg"] = None  # as if infisical-async[testing] were not installed
        from infisical_async import BadRequestError, InfisicalError, SqlDatabaseProvider
        from infisical_async.testing import EmbeddedServer
        from infisical_sync import InfisicalClient, UniversalAuth

        with EmbeddedServer().run_in_thread() as server:
            info = server.info
            with InfisicalClient(
                site_url=info.site_url, project_id=info.project_id, environment="dev",
                auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
                max_retries=0,
            ) as client:
                try:
                    provider = SqlDatabaseProvider(
                        client="postgres", host="127.0.0.1", port=5432, database="d",
                        username="u", password="p", creation_statement="x",
                        revocation_statement="y")
                    client.dynamic_secrets.create("pg", default_ttl="1h", provider=provider)
                except InfisicalError as exc:
                    print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "needs the asyncpg package" in result.stdout, result.stdout + result.stderr
    assert "pip install 'infisical-async[testing]'" in result.stdout


def test_a_missing_crypto_library_is_named_in_the_error() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["cryptography"] = None  # KMS keys need it on the server side
        from infisical_async import InfisicalError
        from infisical_async.testing import EmbeddedServer
        from infisical_sync import InfisicalClient, UniversalAuth

        with EmbeddedServer().run_in_thread() as server:
            info = server.info
            with InfisicalClient(
                site_url=info.site_url, project_id=info.project_id, environment="dev",
                auth=UniversalAuth(client_id=info.client_id, client_secret=info.client_secret),
                max_retries=0,
            ) as client:
                try:
                    client.kms.keys.create("k")
                except InfisicalError as exc:
                    print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert "needs the cryptography package" in result.stdout, result.stdout + result.stderr
    assert "infisical-async[testing]" in result.stdout
