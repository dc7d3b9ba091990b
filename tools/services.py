"""Python side of tools/services.sh: make sure PostgreSQL and Redis run on 127.0.0.1.

Used by the test suite and the demo, so neither needs anything started by hand. When CI
already started the servers it exports their URLs, and nothing is started again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("services.sh")


def ensure_services() -> dict[str, str]:
    """Return {"postgres": dsn, "redis": url}, starting the servers if needed."""
    dsn = os.environ.get("INFISICAL_TEST_POSTGRES_DSN")
    redis_url = os.environ.get("INFISICAL_TEST_REDIS_URL")
    if not (dsn and redis_url):
        if os.geteuid() == 0:
            subprocess.run(["bash", str(SCRIPT), "install"], check=True)
        out = subprocess.run(
            ["bash", str(SCRIPT), "start"], check=True, capture_output=True, text=True
        ).stdout
        values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        dsn = values["INFISICAL_TEST_POSTGRES_DSN"]
        redis_url = values["INFISICAL_TEST_REDIS_URL"]
    return {"postgres": dsn, "redis": redis_url}
