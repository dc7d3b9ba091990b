"""A plain client loads only what a plain read needs; the rest loads on first use."""

from __future__ import annotations

from .conftest import modules_loaded_after

ON_FIRST_USE = [
    "infisical_async._env",
    "infisical_async._keeper",
    "infisical_async._live_cache",
    "infisical_async._watch",
    "infisical_async.auth_methods",
    "infisical_async.providers",
    "cattrs",
]

PLAIN_CLIENT = """
from infisical_async import AsyncInfisicalClient, UniversalAuth
client = AsyncInfisicalClient(
    site_url="http://127.0.0.1:9", auth=UniversalAuth(client_id="i", client_secret="s"),
    project_id="p", environment="dev",
)
client.secrets, client.dynamic_secrets.leases, client.auth, client.kms
"""


def test_a_plain_client_does_not_load_what_it_may_never_use() -> None:
    assert modules_loaded_after(PLAIN_CLIENT, ON_FIRST_USE) == []


def test_the_blocking_client_does_not_either() -> None:
    # Its generated modules import what only annotations use under TYPE_CHECKING.
    assert modules_loaded_after("from infisical_sync import InfisicalClient", ON_FIRST_USE) == []
