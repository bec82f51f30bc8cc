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


# --- the module import graph --------------------------------------------------------------------------------------
PACKAGES = ("indicators", "etl", "app")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module) -> list[tuple[ast.Import | ast.ImportFrom, bool, bool]]:
    """Every import statement with (node, inside a function, inside an `if TYPE_CHECKING:` block)."""
    found: list[tuple[ast.Import | ast.ImportFrom, bool, bool]] = []

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, in_function, type_checking))
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True, type_checking)
            elif isinstance(child, ast.If) and _is_type_checking(child):
                visit(child, in_function, True)
            else:
                visit(child, in_function, type_checking)

    visit(tree, False, False)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules an import statement loads (`from pkg import mod` counts as importing pkg.mod)."""
    if isinstance(node, ast.Import):
        candidates = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        # `from pkg import mod` imports pkg.mod; `from mod import name` imports mod
        candidates = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    targets = set()
    for name in candidates:
        # the deepest project module the dotted name points at
        while name and name not in known:
            name = name.rpartition(".")[0]
        # a module's own packages are imported before it runs, so naming them adds no dependency
        if name and name != module and not module.startswith(name + "."):
            targets.add(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    """module → project modules it imports, at module top or inside functions (TYPE_CHECKING blocks excluded)."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node, _in_function, type_checking in _import_nodes(tree):
            if not type_checking:
                edges |= _targets(node, module, path, known)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted, as import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def strongconnect(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return sorted(components)


def test_find_cycles_reports_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_sees_function_local_and_relative_imports(tmp_path: Path) -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from etl.config import Config\n"
        "def f():\n    from etl.jobs import refresh  # why\n    from . import locks\n"
    )
    path = ROOT / "etl" / "jobs" / "scheduler.py"
    known = {"etl", "etl.config", "etl.jobs", "etl.jobs.refresh", "etl.jobs.locks", "etl.jobs.scheduler"}
    targets = set()
    for node, in_function, type_checking in _import_nodes(tree):
        if not type_checking:
            targets |= _targets(node, "etl.jobs.scheduler", path, known)
    assert targets == {"etl.jobs.refresh", "etl.jobs.locks"}
    flags = {(node.lineno, in_function, type_checking) for node, in_function, type_checking in _import_nodes(tree)}
    assert flags == {(1, False, False), (3, False, True), (5, True, False), (6, True, False)}


def test_no_import_circles() -> None:
    cycles = find_cycles(import_graph())
    assert not cycles, "import circles (each line: modules that import each other, directly or via others):\n" + (
        "\n".join(" ↔ ".join(c) for c in cycles)
    )


def _explained(lines: list[str], lineno: int, import_lines: set[int]) -> bool:
    """A comment on the import's line, or on the line above it or above the run of imports it closes."""
    if "#" in lines[lineno - 1]:
        return True
    above = lineno - 1
    while above in import_lines:  # a comment above a block of imports covers the block
        above -= 1
    return above >= 1 and lines[above - 1].strip().startswith("#")


def test_function_local_imports_say_why() -> None:
    """An import inside a function hides a dependency; allowed only with a comment saying why (on its line, or on the
    line above it or above the block of imports it belongs to); `if TYPE_CHECKING:` imports are fine."""
    offenders = []
    for module, path in _modules().items():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        nodes = _import_nodes(ast.parse(text, filename=str(path)))
        import_lines = {n.lineno for n, _, _ in nodes if n.lineno == n.end_lineno}
        for node, in_function, type_checking in nodes:
            if not in_function or type_checking:
                continue
            if not _explained(lines, node.lineno, import_lines):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not offenders, f"{len(offenders)} function-local import(s) without a comment saying why:\n" + "\n".join(
        offenders
    )


def test_a_comment_above_a_block_of_local_imports_covers_the_block_and_nothing_else() -> None:
    lines = ["def f():", "    # local: slow", "    import a", "    import b", "", "    import c", "    import d  # why"]
    imports = {3, 4, 6, 7}
    assert [_explained(lines, n, imports) for n in (3, 4, 6, 7)] == [True, True, False, True]
