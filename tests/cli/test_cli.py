"""``infisical-py`` end to end: the console script in a subprocess against the embedded server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infisical_async import __version__
from infisical_async.testing import EmbeddedServer

from ..sync.conftest import make_sync_client
from ..test_examples import env_for

CLI = str(Path(sys.executable).parent / "infisical-py")
PY = sys.executable


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer().run_in_thread() as srv:
        with make_sync_client(srv) as admin:
            admin.secrets.create("GREETING", "hello")
            admin.secrets.create("TRICKY", 'it\'s "quoted"\n$HOME and \\ back')
            admin.folders.create("empty", secret_path="/")
        yield srv


def cli(
    server: EmbeddedServer, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args],
        env=env or env_for(server),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_version_and_help_read_as_plain_text(server: EmbeddedServer) -> None:
    result = cli(server, "--version")
    assert (result.returncode, result.stdout.strip()) == (0, f"infisical-py {__version__}")
    for args in (["--help"], ["run", "--help"], ["export", "--help"]):
        text = cli(server, *args).stdout
        assert "usage: infisical-py" in text
        assert "``" not in text and ":meth:" not in text and ":class:" not in text
    module = subprocess.run(
        [PY, "-m", "infisical_sync", "--version"], capture_output=True, text=True, timeout=60
    )
    assert module.stdout.strip() == f"infisical-py {__version__}"
    server_help = subprocess.run(
        [PY, "-m", "infisical_async.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Run the embedded Infisical-compatible server" in server_help
    assert "``" not in server_help


def test_run_injects_passes_the_exit_status_and_strips_credentials(
    server: EmbeddedServer,
) -> None:
    probe = (
        "import os, sys; print(os.environ['GREETING'], "
        "'INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET' in os.environ, "
        "'INFISICAL_UNIVERSAL_AUTH_CLIENT_ID' in os.environ); sys.exit(7)"
    )
    result = cli(server, "run", "--env", "dev", "--", PY, "-c", probe)
    assert result.returncode == 7
    assert result.stdout.strip() == "hello False False"
    summary = result.stderr.strip().splitlines()
    assert len(summary) == 1
    assert summary[0] == (
        f"infisical-py: injected 2 secrets from project {server.info.project_id}, "
        f"environment dev, path / into {PY}"
    )
    assert server.info.client_secret not in result.stderr + result.stdout
    kept = cli(server, "run", "--pass-credentials", "--quiet", "--", PY, "-c", probe)
    assert (kept.returncode, kept.stdout.strip(), kept.stderr) == (7, "hello True True", "")
    env = env_for(server) | {"GREETING": "mine"}
    mine = cli(server, "run", "--", PY, "-c", "import os; print(os.environ['GREETING'])", env=env)
    assert mine.stdout.strip() == "mine" and "(1 already set, kept)" in mine.stderr
    missing = cli(server, "run", "--", "no-such-program-xyz")
    assert missing.returncode == 127 and "command not found: no-such-program-xyz" in missing.stderr


CHILD = """
import signal, sys, time
def on_term(signum, frame):
    print("child got", signal.Signals(signum).name, flush=True)
    sys.exit(42)
signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR1, on_term)
print("ready", flush=True)
time.sleep(30)
"""


def start(server: EmbeddedServer, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [CLI, *args],
        env=env_for(server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    return process


def read_line(process: subprocess.Popen[str], expected: str) -> str:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    assert line.startswith(expected), (line, process.stderr.read() if process.stderr else "")
    return line


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGUSR1, signal.SIGINT])
def test_signals_reach_the_program(server: EmbeddedServer, sig: signal.Signals) -> None:
    process = start(server, "run", "--quiet", "--", PY, "-c", CHILD)
    try:
        read_line(process, "ready")
        process.send_signal(sig)
        out, err = process.communicate(timeout=20)
    finally:
        process.kill()
    if sig == signal.SIGINT:  # the child's KeyboardInterrupt ends it by SIGINT: 128 + 2
        assert process.returncode == 130 and "KeyboardInterrupt" in err
    else:
        assert out.strip() == f"child got {sig.name}"
        assert process.returncode == 42


def test_nothing_of_the_client_lives_beside_the_program(server: EmbeddedServer) -> None:
    process = start(server, "run", "--quiet", "--", PY, "-c", CHILD)
    try:
        read_line(process, "ready")
        threads = len(os.listdir(f"/proc/{process.pid}/task"))
        assert threads == 1  # no loop thread, session or token renewal left running
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 42


def test_a_program_killed_by_a_signal_gives_128_plus_n(server: EmbeddedServer) -> None:
    kill_self = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    result = cli(server, "run", "--quiet", "--", PY, "-c", kill_self)
    assert result.returncode == 128 + signal.SIGKILL


def test_watch_restarts_the_program_when_secrets_change(server: EmbeddedServer) -> None:
    show = "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(30)"
    process = start(server, "run", "--watch", "--watch-interval", "0.2", "--", PY, "-c", show)
    try:
        read_line(process, "hello")
        with make_sync_client(server) as admin:
            admin.secrets.update("GREETING", value="changed")
        read_line(process, "changed")
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 128 + signal.SIGTERM  # the sleeping child died of SIGTERM
    assert process.stderr is not None


def test_watch_follows_change_events_without_polling(server: EmbeddedServer) -> None:
    show = "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(30)"
    process = start(server, "run", "--watch", "--watch-interval", "600", "--", PY, "-c", show)
    try:
        read_line(process, "hello")
        deadline = time.monotonic() + 10
        while server.control.event_streams == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        lists = server.control.request_count("GET /api/v4/secrets")
        with make_sync_client(server) as admin:
            admin.secrets.update("GREETING", value="evented")
        read_line(process, "evented")  # long before a 600 s poll would have looked
        # One listing on the event; nothing polled in between.
        assert server.control.request_count("GET /api/v4/secrets") == lists + 1
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        process.kill()


def test_watch_polls_a_server_without_events() -> None:
    with EmbeddedServer(events="off").run_in_thread() as srv:
        with make_sync_client(srv) as admin:
            admin.secrets.create("GREETING", "hello")
        show = "import os, time; print(os.environ['GREETING'], flush=True); time.sleep(30)"
        process = start(srv, "run", "--watch", "--watch-interval", "0.2", "--", PY, "-c", show)
        try:
            read_line(process, "hello")
            with make_sync_client(srv) as admin:
                admin.secrets.update("GREETING", value="polled")
            read_line(process, "polled")
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=20)
        finally:
            process.kill()
        assert "warning" not in err


def test_errors_name_what_is_wrong(server: EmbeddedServer) -> None:
    wrong_env = cli(server, "run", "--env", "production", "--", PY, "-c", "pass")
    assert wrong_env.returncode == 1
    assert "valid environments: dev, staging, prod" in wrong_env.stderr
    wrong_path = cli(server, "run", "--path", "/missing", "--", PY, "-c", "print('ran')")
    assert wrong_path.returncode == 1 and wrong_path.stdout == ""
    assert "no folder /missing in environment dev" in wrong_path.stderr
    empty = cli(server, "run", "--path", "/empty", "--", PY, "-c", "print('ran')")
    assert empty.returncode == 0 and empty.stdout.strip() == "ran"
    assert "warning: project" in empty.stderr and "path /empty holds no secrets" in empty.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens here once the socket is closed
    env = env_for(server) | {"INFISICAL_SITE_URL": f"http://127.0.0.1:{port}"}
    down = cli(server, "run", "--", PY, "-c", "pass", env=env, timeout=120)
    assert down.returncode == 1
    assert f"cannot reach the Infisical server at 127.0.0.1:{port}" in down.stderr
    bare = {k: v for k, v in os.environ.items() if not k.startswith("INFISICAL_")}
    nocreds = cli(server, "run", "--", PY, "-c", "pass", env=bare)
    assert nocreds.returncode == 2 and "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID" in nocreds.stderr
    noproject = cli(
        server, "export", env={k: v for k, v in env_for(server).items() if "PROJECT" not in k}
    )
    assert noproject.returncode == 2 and "--project-id" in noproject.stderr


def test_export_formats(server: EmbeddedServer, tmp_path: Path) -> None:
    tricky = 'it\'s "quoted"\n$HOME and \\ back'
    as_json = cli(server, "export", "--format", "json")
    assert json.loads(as_json.stdout) == {"GREETING": "hello", "TRICKY": tricky}
    shell = cli(server, "export", "--format", "shell").stdout
    sourced = subprocess.run(
        ["bash", "-c", shell + 'printf %s "$TRICKY"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert sourced.stdout == tricky
    dotenv = cli(server, "export").stdout
    assert dotenv == 'GREETING="hello"\nTRICKY="it\'s \\"quoted\\"\\n\\$HOME and \\\\ back"\n'
    target = tmp_path / "out.env"
    written = cli(server, "export", "--output", str(target))
    assert written.returncode == 0 and target.read_text() == dotenv
    assert target.stat().st_mode & 0o777 == 0o600
    assert "valid environments" in cli(server, "export", "--env", "nope").stderr


def test_the_embedded_server_cli_serves_the_cli(tmp_path: Path) -> None:
    """The documented standalone server and the console script together, both processes."""
    server = subprocess.Popen(
        [PY, "-m", "infisical_async.testing", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        env = {k: v for k, v in os.environ.items() if not k.startswith("INFISICAL_")} | {
            "INFISICAL_SITE_URL": info["site_url"],
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID": info["client_id"],
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET": info["client_secret"],
            "INFISICAL_PROJECT_ID": info["project_id"],
        }
        started = time.monotonic()
        result = subprocess.run(
            [CLI, "run", "--", PY, "-c", "print('ok')"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0 and result.stdout.strip() == "ok"
        assert "injected 0 secrets" in result.stderr and "holds no secrets" in result.stderr
        assert time.monotonic() - started < 30
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    assert server.returncode == 0
