"""``from_env()`` reads every documented INFISICAL_* variable and names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from infisical_async import (
    AsyncInfisicalClient,
    ConfigurationError,
    KubernetesAuth,
    LdapAuth,
    OidcAuth,
    TokenAuth,
    UniversalAuth,
)
from infisical_async._env import ENV_VARIABLES, auth_from_env, options_from_env

from ..conftest import make_client


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("INFISICAL_") and not name.startswith("INFISICAL_TEST_"):
            monkeypatch.delenv(name)


def test_scope_variables_become_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFISICAL_TOKEN", "tok")
    monkeypatch.setenv("INFISICAL_PROJECT_ID", "proj-1")
    monkeypatch.setenv("INFISICAL_PROJECT_SLUG", "proj-slug")
    monkeypatch.setenv("INFISICAL_ENVIRONMENT", "prod")
    monkeypatch.setenv("INFISICAL_SECRET_PATH", "/app")
    client = AsyncInfisicalClient.from_env()
    assert (client.project_id, client.project_slug, client.environment, client.secret_path) == (
        "proj-1",
        "proj-slug",
        "prod",
        "/app",
    )
    # keyword arguments win; None counts as not given
    client = AsyncInfisicalClient.from_env(environment="dev", project_id=None)
    assert (client.environment, client.project_id) == ("dev", "proj-1")


def test_every_identity_method(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {"INFISICAL_AUTH_METHOD": "kubernetes"}
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env(env)
    assert caught.value.missing == ("INFISICAL_MACHINE_IDENTITY_ID",)
    env["INFISICAL_MACHINE_IDENTITY_ID"] = "id-1"
    env["INFISICAL_KUBERNETES_SERVICE_ACCOUNT_TOKEN_PATH"] = str(tmp_path / "token")
    k8s = auth_from_env(env)
    assert isinstance(k8s, KubernetesAuth) and k8s.token_path == str(tmp_path / "token")

    env["INFISICAL_AUTH_METHOD"] = "oidc-auth"
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env(env)
    assert caught.value.missing == ("INFISICAL_JWT", "INFISICAL_JWT_PATH")
    env["INFISICAL_JWT_PATH"] = str(tmp_path / "jwt")
    oidc = auth_from_env(env)
    assert isinstance(oidc, OidcAuth) and oidc.token == tmp_path / "jwt"

    env["INFISICAL_AUTH_METHOD"] = "ldap-auth"
    env["INFISICAL_LDAP_USERNAME"] = "alice"
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env(env)
    assert caught.value.missing == ("INFISICAL_LDAP_PASSWORD",)
    env["INFISICAL_LDAP_PASSWORD"] = "pw"
    env["INFISICAL_ORGANIZATION_SLUG"] = "team-a"
    ldap = auth_from_env(env)
    assert isinstance(ldap, LdapAuth) and ldap.organization_slug == "team-a"
    assert "pw" not in repr(ldap)

    for method in ("aws-iam", "gcp-id-token", "azure", "jwt-auth"):
        env["INFISICAL_AUTH_METHOD"] = method
        assert type(auth_from_env(env)).__name__.lower().startswith(method.split("-")[0][:3])
    env["INFISICAL_AUTH_METHOD"] = "gcp-iam"
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env(env)
    assert caught.value.missing == ("INFISICAL_GCP_IAM_SERVICE_ACCOUNT_KEY_FILE_PATH",)


def test_wrong_or_incomplete_methods_are_named() -> None:
    with pytest.raises(ConfigurationError, match="universal-auth, token, kubernetes"):
        auth_from_env({"INFISICAL_AUTH_METHOD": "magic"})
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env({"INFISICAL_AUTH_METHOD": "universal-auth"})
    assert caught.value.missing == (
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID",
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET",
    )
    with pytest.raises(ConfigurationError) as caught:
        auth_from_env({"INFISICAL_AUTH_METHOD": "token"})
    assert caught.value.missing == ("INFISICAL_TOKEN",)
    assert isinstance(auth_from_env({"INFISICAL_TOKEN": "t"}), TokenAuth)
    universal = auth_from_env(
        {
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID": "i",
            "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET": "s",
            "INFISICAL_TOKEN": "t",  # the pair wins, as in the Infisical CLI
        }
    )
    assert isinstance(universal, UniversalAuth)


def test_every_documented_variable_is_in_the_docs() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "auth.md").read_text()
    for name in ENV_VARIABLES:
        assert name in docs, name
    assert options_from_env({"auth": TokenAuth(token="x")}, {})["auth"].token == "x"


async def test_a_client_from_env_talks_to_the_server(
    current_server: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infisical_async.testing import EmbeddedServer

    assert isinstance(current_server, EmbeddedServer)
    info = current_server.info
    async with make_client(current_server) as admin:
        await admin.secrets.create("FROM_ENV", "yes", secret_path="/", environment="staging")
    for name, value in {
        "INFISICAL_SITE_URL": info.site_url,
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_ID": info.client_id,
        "INFISICAL_UNIVERSAL_AUTH_CLIENT_SECRET": info.client_secret,
        "INFISICAL_PROJECT_ID": info.project_id,
        "INFISICAL_ENVIRONMENT": "staging",
    }.items():
        monkeypatch.setenv(name, value)
    async with AsyncInfisicalClient.from_env() as client:
        assert (await client.secrets.get("FROM_ENV")).value == "yes"
