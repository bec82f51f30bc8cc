"""Warehouse paths from `--db`, checked before anything is opened: a mistyped folder is refused, never created."""

from __future__ import annotations

import os
from pathlib import Path

import click


def warehouse_for_writing(db: str | os.PathLike[str]) -> Path:
    """A warehouse a command may create: its folder must already exist (a typo must not grow a new tree)."""
    path = Path(db)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.ClickException(
            f"the folder {folder} of --db {path} does not exist: create it first (mkdir -p {folder}) or check the "
            f"path · 目录 {folder} 不存在，请先创建或检查路径")
    return path


def warehouse_for_reading(db: str | os.PathLike[str]) -> Path:
    """A warehouse a command only reads: it must exist."""
    path = warehouse_for_writing(db)
    if not path.is_file():
        raise click.ClickException(f"warehouse {path} does not exist (run `govindex refresh` first) · 数据仓库不存在")
    return path
