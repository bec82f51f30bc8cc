"""The `govindex` command line: one sub-command per thing a person does, each in its own module."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import click

from app.cli.options import configure_early_logging

# With govindex[spark] installed, pandera imports pyspark.pandas, which warns about pandas 3 on every command; govindex
# never uses pyspark.pandas (the Spark engine reads Arrow), so the warning says nothing to a person running a command.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

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
    ("edition", "edition"),
    ("sensitivity", "sensitivity"),
    ("user", "user"),
    ("backup", "backup"),
    ("backup", "restore"),
    ("backup", "snapshots"),
    ("backup", "rollback"),
    ("backup", "migrate"),
    ("alerts", "alerts"),
    ("target", "target"),
    ("ledger", "ledger"),
    ("rank", "rank"),
)


class _Group(click.Group):
    """The top-level group: a file or folder this user may not write (say a read-only warehouse folder) is a
    message naming it, never a PermissionError traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PermissionError as e:
            where = e.filename or "a file"
            raise click.ClickException(f"permission denied on {where}: this user may not write there (check the "
                                       f"folder's permissions, or choose another path) · 无权写入 {where}") from None


class _LazyCommands(dict[str, Any]):  # values: a command, or the name of the module defining it
    """Command name → command, each module imported when its command is first asked for: `govindex refresh` then
    imports refresh's module alone, not every command's (the pages, the scoring, scipy), so a refresh with nothing
    new starts in a fraction of a second. Listing them all (`--help`) imports every module, as before."""

    def __getitem__(self, name: str) -> click.Command:
        value = super().__getitem__(name)
        if isinstance(value, str):
            value = getattr(importlib.import_module(f"app.cli.{value}"), name)
            super().__setitem__(name, value)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self else default

    def values(self) -> Any:  # type: ignore[override]
        return [self[n] for n in self]

    def items(self) -> Any:  # type: ignore[override]
        return [(n, self[n]) for n in self]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="govindex")
def main() -> None:
    """govindex: a user-centred performance index for government services (一网通办).

    Turns one-stop government service records into indicators, district composite scores and a web app.
    """
    configure_early_logging()  # before the sub-command's local imports, whose warnings then follow [logging]


main.commands = _LazyCommands({_attr: _module for _module, _attr in COMMANDS})
