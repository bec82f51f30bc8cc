"""Every `govindex` command has help text, and `--help` works for each as a person would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from app.cli import main

BIN = Path(sys.executable).parent / "govindex"


def _walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    out = []
    for name, cmd in sorted(group.commands.items()):
        out.append((prefix + (name,), cmd))
        if isinstance(cmd, click.Group):
            out.extend(_walk(cmd, prefix + (name,)))
    return out


COMMANDS = _walk(main)


def test_the_commands_a_person_needs_exist() -> None:
    names = {path[0] for path, _ in COMMANDS}
    assert {"demo", "serve"} <= names


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_and_options_have_help(path: tuple[str, ...], cmd: click.Command) -> None:
    assert (cmd.help or "").strip(), f"`govindex {' '.join(path)}` has no help text"
    for param in cmd.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"`govindex {' '.join(path)}` option {param.opts[0]} has no help text"


def test_help_runs_as_a_subprocess() -> None:
    out = subprocess.run([str(BIN), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for path, _ in COMMANDS:
        if len(path) == 1:
            assert path[0] in out.stdout


def test_readme_documents_every_command() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    missing = [path[0] for path, _ in COMMANDS if len(path) == 1 and f"`govindex {path[0]}" not in readme]
    assert not missing, f"README's command-line table lacks: {', '.join(missing)}"
