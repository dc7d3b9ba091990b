"""A plain client loads only what a plain read needs; the rest loads on first use."""

from __future__ import annotations

import subprocess
import sys

ON_FIRST_USE = [
    "infisical_async._env",
    "infisical_async._keeper",
    "infisical_async._live_cache",
    "infisical_async._watch",
    "infisical_async.auth_methods",
    "infisical_async.providers",
    "cattrs",
]

SCRIPT = """
import sys
from infisical_async import AsyncInfisicalClient, UniversalAuth
client = AsyncInfisicalClient(
    site_url="http://127.0.0.1:9", auth=UniversalAuth(client_id="i", client_secret="s"),
    project_id="p", environment="dev",
)
client.secrets, client.dynamic_secrets.leases, client.auth, client.kms
print(" ".join(sorted(name for name in {names} if name in sys.modules)))
"""


def test_a_plain_client_does_not_load_what_it_may_never_use() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(names=ON_FIRST_USE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == []
