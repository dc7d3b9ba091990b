"""Secrets written as dotenv, JSON or shell ``export`` lines (``infisical-py export``)."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping

__all__ = ["FORMATS", "render"]


def _dotenv(secrets: Mapping[str, str]) -> str:
    # Double quotes with backslash escapes: what python-dotenv, docker --env-file readers
    # and the Infisical CLI's own dotenv output agree on for multi-line values.
    def quote(value: str) -> str:
        escaped = (
            value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "\\$")
        )
        return f'"{escaped}"'

    return "".join(f"{key}={quote(value)}\n" for key, value in secrets.items())


def _json(secrets: Mapping[str, str]) -> str:
    return json.dumps(dict(secrets), indent=2, ensure_ascii=False) + "\n"


def _shell(secrets: Mapping[str, str]) -> str:
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in secrets.items())


FORMATS: dict[str, Callable[[Mapping[str, str]], str]] = {
    "dotenv": _dotenv,
    "json": _json,
    "shell": _shell,
}


def render(secrets: Mapping[str, str], fmt: str) -> str:
    return FORMATS[fmt](secrets)
