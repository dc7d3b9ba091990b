"""``INFISICAL_LOG=debug|info|warning|error``: turn on the SDK's logs without any code.

The SDK logs under ``infisical_async`` with one child logger per area (``.auth``,
``.transport``, ``.keeper``, ``.secrets``, ``.integrations``). It installs no handler that
hides records: with no logging configured, Python prints WARNINGs and above to stderr.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings

__all__ = ["LOGGER_NAME", "configure_from_env"]

LOGGER_NAME = "infisical_async"
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


class _FallbackHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to stderr only while the application has configured no root handler.

    ``INFISICAL_LOG`` is read at import, often before the application sets up logging;
    once it does (``basicConfig``, uvicorn's or gunicorn's config with a root handler), the
    records go through the application's handlers alone, never twice.
    """

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        super().emit(record)


def configure_from_env() -> None:
    value = os.environ.get("INFISICAL_LOG", "").strip().lower()
    if not value:
        return
    level = LEVELS.get(value)
    if level is None:
        warnings.warn(
            f"INFISICAL_LOG={value!r} is not a level; use one of {', '.join(LEVELS)}",
            RuntimeWarning,
            stacklevel=2,
        )
        return
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(h, _FallbackHandler) for h in logger.handlers):
        handler = _FallbackHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
