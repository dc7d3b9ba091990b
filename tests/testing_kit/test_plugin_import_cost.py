"""The pytest plugin loads into every pytest run of every project that installs the SDK:
importing it must not load the server, aiohttp.web or the client."""

from __future__ import annotations

import subprocess
import sys

from ..conftest import modules_loaded_after

SERVER_MODULES = ("aiohttp.web", "infisical_async.testing._server", "infisical_async.testing._app")


def modules_after_plugin_import(*candidates: str) -> list[str]:
    return modules_loaded_after("import infisical_async.testing.pytest_plugin", candidates)


def test_the_plugin_loads_no_server_module() -> None:
    assert modules_after_plugin_import(*SERVER_MODULES) == []
    code = (
        "import sys\n"
        "import infisical_async.testing.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith('infisical_async.testing.')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "['infisical_async.testing.pytest_plugin']"


def test_the_plugin_loads_neither_server_nor_client() -> None:
    assert modules_after_plugin_import(*SERVER_MODULES, "infisical_async._client") == []


def test_fixtures_load_the_server_when_used() -> None:
    code = (
        "import sys\n"
        "import infisical_async.testing.pytest_plugin as plugin\n"
        "with plugin._serve('current') as server:\n"
        "    assert server.control.listening\n"
        "print('aiohttp.web' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "True"
