"""The `govindex` command line: one sub-command per thing a person does, each in its own module."""

from __future__ import annotations

import importlib

import click

# (module under app.cli, click command attribute). Each module holds one command; add new ones here.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("demo", "demo"),
    ("ingest", "ingest"),
    ("quarantine", "quarantine"),
    ("serve", "serve"),
    ("weights", "weights"),
    ("refresh", "refresh"),
    ("schedule", "schedule"),
    ("score", "score"),
    ("sensitivity", "sensitivity"),
    ("user", "user"),
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="govindex")
def main() -> None:
    """govindex: a user-centred performance index for government services (一网通办).

    Turns one-stop government service records into indicators, district composite scores and a web app.
    """


for _module, _attr in COMMANDS:
    main.add_command(getattr(importlib.import_module(f"app.cli.{_module}"), _attr))
