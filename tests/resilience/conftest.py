"""Collects the fault suite's figures and prints them as a table after the run."""

from __future__ import annotations

import pytest

FAULT_TABLE: list[tuple[str, int, int, int, int]] = []
DEADLINE_OVERRUNS: list[tuple[str, float]] = []
"""(scenario, seconds a call ran past its deadline) for every deadline test."""


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FAULT_TABLE:
        return
    write = terminalreporter.write_line
    write("")
    write(f"{'fault scenario':<48} {'calls':>6} {'faults':>7} {'failures':>9} {'expected':>9}")
    for name, calls, faults, failures, expected in FAULT_TABLE:
        write(f"{name:<48} {calls:>6} {faults:>7} {failures:>9} {expected:>9}")
    if DEADLINE_OVERRUNS:
        name, worst = max(DEADLINE_OVERRUNS, key=lambda item: item[1])
        write(f"worst deadline overrun: {worst * 1000:.0f} ms ({name})")
