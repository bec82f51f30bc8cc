"""A warning raised while a command starts (a library's FutureWarning when the command imports its heavy modules,
as pyspark's about pandas 3 when pandera imports it) follows [logging]: with format = json it is one JSON line on
stderr like every other, so a scheduler that reads the log line by line never meets bare text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts the CLI in a subprocess

SCRIPT = """
import warnings
from app.cli import main

@main.command("warn-at-start")
def warn_at_start() -> None:
    # as a sub-command's local import would, after the group's callback
    warnings.warn("library not supported with this version", FutureWarning, stacklevel=1)

main(["warn-at-start"])
"""


def test_a_warning_at_command_start_is_a_json_log_line(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                         env={**os.environ, "GOVINDEX_CONFIG": "", "GOVINDEX_LOG_FORMAT": "json",
                              "PYTHONWARNINGS": "default"})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    objs = [json.loads(line) for line in lines]  # every line JSON
    assert any(o["logger"] == "py.warnings" and "library not supported" in o["message"] for o in objs), lines
