"""Every configuration default lives once: the literal appears as a value in its owning module and nowhere else."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "etl", "indicators")
# literal -> the one module allowed to hold it (as a whole string/number constant, not inside prose)
OWNERS: dict[str | int, str] = {
    "data/warehouse.duckdb": "etl/config.py",
    "runs.sqlite": "etl/config.py",
    "users.toml": "etl/config.py",
    "data/weights": "etl/config.py",
    "user-centred": "etl/config.py",
    20240601: "etl/config.py",
    8050: "etl/config.py",
    "Asia/Shanghai": "etl/contract/tables.py",
}


def _constants(path: Path) -> set[str | int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, (str, int))
            and not isinstance(n.value, bool)}


@pytest.fixture(scope="module")
def constants() -> dict[str, set[str | int]]:
    return {str(p.relative_to(ROOT)): _constants(p) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


@pytest.mark.parametrize("literal", list(OWNERS), ids=str)
def test_each_default_lives_once(constants: dict[str, set[str | int]], literal: str | int) -> None:
    holders = sorted(f for f, values in constants.items() if literal in values)
    assert holders == [OWNERS[literal]], f"{literal!r} is held by {holders}; it belongs in {OWNERS[literal]} only"
