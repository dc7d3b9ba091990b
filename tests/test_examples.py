"""The README's demo keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_end_to_end(databases: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("logged in to PostgreSQL as" in line for line in lines)
    assert any("can no longer log in" in line for line in lines)
    assert lines[-1] == "-> done"
