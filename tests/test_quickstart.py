"""The README's first command: the quickstart runs offline and prints the session tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_prints_the_session_tree():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HONEYHIVE_", "HH_", "OTEL_"))}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "quickstart.py")], capture_output=True,
                            text=True, timeout=120, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    tree = result.stdout
    assert "session quickstart" in tree
    assert tree.count("[model] litellm_request") == 3
    assert "tool_calls: get_weather" in tree and "It is 18°C and sunny in Paris." in tree
