"""Architecture rules: imports go one way (app → etl → indicators); the core stays pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "indicators": {"etl", "app", "duckdb", "dash", "plotly", "flask", "apscheduler", "dash_ag_grid"},
    "etl": {"app", "dash", "dash_ag_grid"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


def test_indicators_core_does_no_io() -> None:
    """indicators/ takes arrays and frames, never files or the clock (catalog TOML is read by etl.contract.catalog)."""
    banned_calls = {"open", "read_csv", "read_parquet", "scan_csv", "read_excel", "write_csv", "now", "today"}
    offenders = []
    for path in sorted((ROOT / "indicators").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
                if name in banned_calls:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} calls {name}()")
    assert not offenders, "\n".join(offenders)


def test_every_module_has_a_docstring() -> None:
    missing = []
    for package in ("indicators", "etl", "app"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "__init__.py" and not path.read_text(encoding="utf-8").strip():
                continue
            if ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, "modules without a one-line docstring: " + ", ".join(missing)


#: folders under tests/ that hold data or outputs, not tests of a package
TEST_SUPPORT_FOLDERS = {"fixtures", "artifacts"}


def test_test_folders_mirror_the_packages() -> None:
    """Tests mirror the code: every folder under tests/ is a package folder too (tests/etl/jobs/ tests etl/jobs/)."""
    offenders = []
    for folder in sorted(p for p in (ROOT / "tests").rglob("*") if p.is_dir()):
        rel = folder.relative_to(ROOT / "tests")
        if rel.parts[0] in TEST_SUPPORT_FOLDERS or any(part.startswith((".", "__")) for part in rel.parts):
            continue
        if not any((ROOT / rel).glob("*.py")):  # a package, or a folder of modules such as app/pages/
            offenders.append(f"tests/{rel.as_posix()}/ has no package {rel.as_posix()}/")
    assert not offenders, "\n".join(offenders)
