"""Reliability suite fixtures: the per-scenario table (the secret scan covers the whole suite:
see tests/support/secret_scan.py, wired in tests/conftest.py)."""

from __future__ import annotations

from typing import Any

from tests.reliability import harness


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not harness.ROWS:
        return
    terminalreporter.section("reliability scenarios")
    for line in harness.table(harness.ROWS):
        terminalreporter.write_line(line)
