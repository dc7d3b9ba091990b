"""Fill pydantic-settings ``BaseSettings`` from Infisical (extra ``infisical-async[pydantic]``).

>>> class Settings(BaseSettings):
...     database_url: str
...     debug: bool = False
...
...     @classmethod
...     def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
...                                    dotenv_settings, file_secret_settings):
...         client = InfisicalClient.from_env(project_id="...", environment="prod")
...         return (init_settings, env_settings,
...                 InfisicalSettingsSource(settings_cls, client=client))

Each field is looked up by its alias (or name) as written, then upper-cased
(``database_url`` finds ``DATABASE_URL``). Values go through pydantic's validation like any
other source's; complex fields (lists, models) are read as JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from ._client import InfisicalClient

__all__ = ["InfisicalSettingsSource"]


class InfisicalSettingsSource(PydanticBaseSettingsSource):
    """A settings source reading one Infisical path, fetched once per settings load."""

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        *,
        client: InfisicalClient,
        project_id: str | None = None,
        environment: str | None = None,
        secret_path: str | None = None,
        recursive: bool = False,
    ) -> None:
        super().__init__(settings_cls)
        self._client = client
        self._scope: dict[str, Any] = {
            "project_id": project_id,
            "environment": environment,
            "secret_path": secret_path,
            "recursive": recursive,
        }
        self._secrets: dict[str, str] | None = None

    def _values(self) -> dict[str, str]:
        if self._secrets is None:
            self._secrets = self._client.secrets.list(**self._scope).to_dict()
        return self._secrets

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        secrets = self._values()
        name = field.alias or field_name
        for candidate in (name, name.upper()):
            if candidate in secrets:
                return secrets[candidate], candidate, self.field_is_complex(field)
        return None, name, False

    def __call__(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for field_name, field in self.settings_cls.model_fields.items():
            value, _, is_complex = self.get_field_value(field, field_name)
            prepared = self.prepare_field_value(field_name, field, value, is_complex)
            if prepared is not None:
                data[field.alias or field_name] = prepared
        return data
