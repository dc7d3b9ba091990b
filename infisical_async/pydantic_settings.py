"""Fill pydantic-settings ``BaseSettings`` from Infisical (extra ``infisical-async[pydantic]``).

``InfisicalSettingsSource`` is pydantic-settings' own environment source fed with a
folder's secrets instead of ``os.environ``, so ``env_prefix``, ``case_sensitive``, field
aliases (``validation_alias``/``AliasChoices``), ``env_nested_delimiter`` and JSON for
complex fields behave exactly as they do for environment variables::

    class Settings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__")
        database_url: str

        @classmethod
        def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                       dotenv_settings, file_secret_settings):
            return (init_settings, env_settings, InfisicalSettingsSource(settings_cls))

Where the secrets come from, first match wins:

* inside ``await load_settings(Settings, client)`` (asyncio apps): the secrets that call
  fetched with your ``AsyncInfisicalClient``;
* ``secrets=``: a mapping you fetched yourself;
* ``client=``: your ``infisical_sync.InfisicalClient`` (yours to close; its token is
  reused, so building settings again does not log in again);
* otherwise ``InfisicalClient.from_env()``, opened and closed within the call.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic_settings import BaseSettings, EnvSettingsSource

from .errors import ConfigurationError

if TYPE_CHECKING:
    from infisical_sync import InfisicalClient

    from ._client import AsyncInfisicalClient

__all__ = ["InfisicalSettingsSource", "load_settings", "reading"]

S = TypeVar("S", bound=BaseSettings)

_prefetched: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "infisical_prefetched_settings", default=None
)


class InfisicalSettingsSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading one Infisical folder instead.

    Args:
        settings_cls: The settings class (pydantic-settings passes it).
        client: A blocking ``InfisicalClient`` to read with; never closed here.
        secrets: Secrets already fetched (name to value); no request is made.
        project_id: Project; default the client's (or ``INFISICAL_PROJECT_ID``).
        environment: Environment slug; default the client's (or ``INFISICAL_ENVIRONMENT``).
        secret_path: Folder; default the client's (or ``INFISICAL_SECRET_PATH``, else ``/``).
        recursive: Include sub-folders.
        case_sensitive: As for the environment source; default the model's config.
        env_prefix: As for the environment source; default the model's ``env_prefix``.
        env_nested_delimiter: As for the environment source; default the model's config.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *,
        client: InfisicalClient | None = None,
        secrets: Mapping[str, str] | None = None,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = False,
        case_sensitive: bool | None = None,
        env_prefix: str | None = None,
        env_nested_delimiter: str | None = None,
    ) -> None:
        self._client = client
        self._given = secrets
        self._scope: dict[str, Any] = {
            "project_id": project_id,
            "environment": environment,
            "secret_path": secret_path,
            "recursive": recursive,
        }
        super().__init__(
            settings_cls,
            case_sensitive=case_sensitive,
            env_prefix=env_prefix,
            env_nested_delimiter=env_nested_delimiter,
        )

    def _fetch(self) -> Mapping[str, str]:
        prefetched = _prefetched.get()
        if prefetched is not None:
            return prefetched
        if self._given is not None:
            return self._given
        if self._client is not None:
            return self._client.secrets.list(**self._scope).to_dict()
        from infisical_sync import InfisicalClient  # the blocking twin, only when needed

        scope = dict(self._scope)
        recursive = scope.pop("recursive")
        with InfisicalClient.from_env(**scope) as client:
            return client.secrets.list(recursive=recursive).to_dict()

    def _load_env_vars(self) -> Mapping[str, str | None]:
        secrets = self._fetch()
        if self.case_sensitive:
            return dict(secrets)
        return {name.lower(): value for name, value in secrets.items()}

    def __repr__(self) -> str:
        return f"InfisicalSettingsSource(env_prefix={self.env_prefix!r}, scope={self._scope!r})"


@contextlib.contextmanager
def reading(secrets: Mapping[str, str]) -> Iterator[None]:
    """Within the block, every ``InfisicalSettingsSource`` reads ``secrets`` (no request)."""
    token = _prefetched.set(dict(secrets))
    try:
        yield
    finally:
        _prefetched.reset(token)


async def load_settings(
    settings_cls: type[S],
    client: AsyncInfisicalClient,
    *,
    project_id: str | None = None,
    environment: str | None = None,
    secret_path: str | None = None,
    recursive: bool = False,
    **values: Any,
) -> S:
    """Build ``settings_cls(**values)`` in an asyncio app, reading with ``client``.

    The folder is fetched once with your ``AsyncInfisicalClient`` (yours to close); every
    ``InfisicalSettingsSource`` of the class then reads those secrets without blocking.
    """
    listing = await client.secrets.list(
        project_id=project_id,
        environment=environment,
        secret_path=secret_path,
        recursive=recursive,
    )
    return build_settings(settings_cls, listing.to_dict(), **values)


def build_settings(settings_cls: type[S], secrets: Mapping[str, str], **values: Any) -> S:
    """``settings_cls(**values)`` reading ``secrets``; a field they fail to fill raises
    ConfigurationError naming the fields, never quoting the values (pydantic's own
    error quotes the input, here a secret, and is not chained)."""
    import pydantic

    with reading(secrets):
        try:
            return settings_cls(**values)
        except pydantic.ValidationError as exc:
            fields = [".".join(map(str, e["loc"])) for e in exc.errors(include_input=False)]
    raise ConfigurationError(
        f"{settings_cls.__name__}: invalid or missing settings: {', '.join(fields)}"
    )
