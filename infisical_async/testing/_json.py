"""JSON for the embedded server's wire (its own: it shares no code with the client)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

try:  # the same optional speed-up the client may use, imported on its own
    import orjson

    def loads(data: bytes | str) -> Any:
        return orjson.loads(data)

    def dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode()

except ImportError:  # pragma: no cover - exercised when the extra is absent

    def loads(data: bytes | str) -> Any:
        return json.loads(data)

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))
