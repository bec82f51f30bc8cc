"""`--json` output and exit codes shared by refresh, ingest and score: one JSON object on stdout, whatever happens.

Exit codes a scheduler can act on: 0 done; 1 failed (the object's "error" says why); 2 bad usage (click's own);
75 busy (EX_TEMPFAIL: another refresh holds the warehouse, try again later). Logs and warnings go to stderr, so
stdout holds exactly the one object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BUSY = 75


class Busy(click.ClickException):
    """Another refresh holds the warehouse: exit 75 (try again later), not 1."""

    exit_code = EXIT_BUSY


def emit(obj: dict[str, Any]) -> None:
    """Print one JSON object on one line of stdout."""
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


@contextmanager
def json_errors(as_json: bool) -> Iterator[None]:
    """With --json, a command's error becomes {"status": "error" | "busy", "error": message} on stdout, with the same
    exit code; without it, click prints the message on stderr as usual."""
    try:
        yield
    except click.ClickException as e:
        if not as_json:
            raise
        emit({"status": "busy" if e.exit_code == EXIT_BUSY else "error", "error": e.format_message(),
              "exit_code": e.exit_code})
        sys.exit(e.exit_code)
