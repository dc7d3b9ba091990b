"""What a fresh interpreter pays: importing the package, and a blocking script's cold start.

Every figure here is measured in a new interpreter per repetition (nothing warm from an
earlier one), repeated, and reported as the median; the repetitions of all subjects are
interleaved so that a slow spell of the shared machine hits every subject alike.

Interpreter start-up itself (the same for every subject) is outside the in-process timers:
each script takes ``time.perf_counter()`` as its first statement. The whole process, start
to exit, is reported beside it for the cold start, since a blocking script pays that too.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

IMPORTS = {
    "import aiohttp (floor)": "import aiohttp",
    "from infisical_async import AsyncInfisicalClient": (
        "from infisical_async import AsyncInfisicalClient"
    ),
    "import infisical_async": "import infisical_async",
    "from infisical_sync import InfisicalClient": "from infisical_sync import InfisicalClient",
    "import infisical_sync": "import infisical_sync",
    "official SDK: from infisical_sdk import InfisicalSDKClient": (
        "from infisical_sdk import InfisicalSDKClient"
    ),
}
"""Statements timed in fresh interpreters; the first is the baseline."""

IMPORT_TARGETS = {
    "from infisical_async import AsyncInfisicalClient",
    "from infisical_sync import InfisicalClient",
}

_TIMED_IMPORT = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"

# Each script prints the seconds from its first statement to holding the secret's value
# (import + login + first get); closing and interpreter exit are left out of that figure.
COLD_RAW = r"""
import time; started = time.perf_counter()
import asyncio, json, sys
import aiohttp
info = json.loads(sys.argv[1])
async def main():
    async with aiohttp.ClientSession() as session:
        async with session.post(info["site"] + "/api/v1/auth/universal-auth/login", json={
                "clientId": info["client_id"], "clientSecret": info["client_secret"]}) as r:
            token = json.loads(await r.read())["accessToken"]
        async with session.get(info["site"] + "/api/v4/secrets/DATABASE_URL", headers={
                "Authorization": "Bearer " + token}, params={
                "projectId": info["project_id"], "environment": "dev", "secretPath": "/",
                "type": "shared", "include_imports": "true",
                "expandSecretReferences": "true", "viewSecretValue": "true"}) as r:
            value = json.loads(await r.read())["secret"]["secretValue"]
        print(time.perf_counter() - started)
        assert value
asyncio.run(main())
"""

COLD_ASYNC = r"""
import time; started = time.perf_counter()
import asyncio, json, sys
from infisical_async import AsyncInfisicalClient, UniversalAuth
info = json.loads(sys.argv[1])
async def main():
    async with AsyncInfisicalClient(site_url=info["site"], project_id=info["project_id"],
            environment="dev", auth=UniversalAuth(client_id=info["client_id"],
            client_secret=info["client_secret"])) as client:
        value = (await client.secrets.get("DATABASE_URL")).value
        print(time.perf_counter() - started)
        assert value
asyncio.run(main())
"""

COLD_SYNC = r"""
import time; started = time.perf_counter()
import json, sys
from infisical_sync import InfisicalClient, UniversalAuth
info = json.loads(sys.argv[1])
with InfisicalClient(site_url=info["site"], project_id=info["project_id"], environment="dev",
        auth=UniversalAuth(client_id=info["client_id"],
        client_secret=info["client_secret"])) as client:
    value = client.secrets.get("DATABASE_URL").value
    print(time.perf_counter() - started)
    assert value
"""

COLD_OFFICIAL = r"""
import time; started = time.perf_counter()
import json, sys
from infisical_sdk import InfisicalSDKClient
info = json.loads(sys.argv[1])
client = InfisicalSDKClient(host=info["site"])
client.auth.universal_auth.login(client_id=info["client_id"],
                                 client_secret=info["client_secret"])
value = client.secrets.get_secret_by_name(secret_name="DATABASE_URL",
    project_id=info["project_id"], environment_slug="dev", secret_path="/").secretValue
print(time.perf_counter() - started)
assert value
"""


def official_installed() -> bool:
    try:
        import infisical_sdk  # noqa: F401
    except ImportError:
        return False
    return True


def compile_packages() -> None:
    """Compile this package's modules to bytecode, as installing its wheel does.

    Every dependency in site-packages was compiled when pip installed it; a source
    checkout (or ``PYTHONDONTWRITEBYTECODE``, set on some machines) would otherwise make
    each fresh interpreter compile our modules again, and time the compiler, not the
    import.
    """
    import compileall
    import importlib.util

    for package in ("infisical_async", "infisical_sync"):
        spec = importlib.util.find_spec(package)
        for folder in (spec and spec.submodule_search_locations) or ():
            compileall.compile_dir(folder, quiet=1)


def _run(code: str, *args: str) -> tuple[float, float]:
    """(the seconds the script printed, the wall seconds of the whole process)."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[0]), time.perf_counter() - started


def interleaved(
    subjects: dict[str, Callable[[], tuple[float, float]]], repetitions: int
) -> dict[str, tuple[list[float], list[float]]]:
    """Run every subject once per repetition, in rotating order; all samples per subject."""
    samples: dict[str, tuple[list[float], list[float]]] = {s: ([], []) for s in subjects}
    names = list(subjects)
    for rep in range(repetitions):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            inner, whole = subjects[name]()
            samples[name][0].append(inner)
            samples[name][1].append(whole)
    return samples


def spread(values: list[float]) -> str:
    """The middle half of the samples, relative to their median (the noise of the figure)."""
    if len(values) < 4:
        return ""
    q1, _, q3 = statistics.quantiles(values, n=4)
    median = statistics.median(values)
    return f"IQR {q1 / median:.2f}-{q3 / median:.2f}"


def import_rows(repetitions: int) -> list[dict[str, Any]]:
    compile_packages()
    statements = dict(IMPORTS)
    if not official_installed():
        del statements["official SDK: from infisical_sdk import InfisicalSDKClient"]
    samples = interleaved(
        {
            label: (lambda stmt=stmt: _run(_TIMED_IMPORT.format(stmt=stmt)))  # type: ignore[misc]
            for label, stmt in statements.items()
        },
        repetitions,
    )
    base = statistics.median(samples["import aiohttp (floor)"][0])
    rows = []
    for label, (inner, _) in samples.items():
        value = statistics.median(inner)
        target = label in IMPORT_TARGETS
        rows.append(
            {
                "subject": label,
                "value": value * 1e3,
                "ratio": value / base,
                "target": "<= 1.0x aiohttp" if target else "",
                "met": value / base <= 1.0 if target else None,
                "spread": spread(inner),
            }
        )
    return rows


def cold_start_rows(info: dict[str, str], repetitions: int) -> list[dict[str, Any]]:
    compile_packages()
    argument = json.dumps(info)
    scripts = {
        "raw aiohttp script (floor)": COLD_RAW,
        "infisical_async": COLD_ASYNC,
        "infisical_sync": COLD_SYNC,
    }
    if official_installed():
        scripts["official infisicalsdk"] = COLD_OFFICIAL
    samples = interleaved(
        {
            label: (lambda code=code: _run(code, argument))  # type: ignore[misc]
            for label, code in scripts.items()
        },
        repetitions,
    )
    base_inner = statistics.median(samples["raw aiohttp script (floor)"][0])
    base_whole = statistics.median(samples["raw aiohttp script (floor)"][1])
    rows = []
    for label, (inner, whole) in samples.items():
        value = statistics.median(inner)
        target = label in ("infisical_async", "infisical_sync")
        rows.append(
            {
                "subject": label,
                "value": value * 1e3,
                "ratio": value / base_inner,
                "target": "<= 1.10x raw" if target else "",
                "met": value / base_inner <= 1.10 if target else None,
                "spread": spread(inner),
                "whole": statistics.median(whole) * 1e3,
                "whole_ratio": statistics.median(whole) / base_whole,
                "whole_spread": spread(whole),
            }
        )
    return rows
