"""Fill pydantic-settings ``BaseSettings`` from Infisical (extra ``infisical-async[pydantic]``).

The same source as ``infisical_async.pydantic_settings`` (see there): pass ``client=`` an
``InfisicalClient`` you keep open, or nothing to read with ``InfisicalClient.from_env()``
opened and closed within each settings load.
"""

from __future__ import annotations

from infisical_async.pydantic_settings import InfisicalSettingsSource, load_settings

__all__ = ["InfisicalSettingsSource", "load_settings"]
