"""The warehouse DDL registry (etl.warehouse.ddl): the only place a table is declared, and complete."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from etl.contract import tables
from etl.warehouse import connection as warehouse, ddl

ROOT = Path(__file__).resolve().parents[3]
CREATE = re.compile(r"\bCREATE\s+(OR\s+REPLACE\s+)?TABLE\b", re.IGNORECASE)  # TEMP tables are not schema
# The run history, the assessment editions, the loop store (targets, ledger, alerts) and the sensitivity results are
# separate SQLite files beside the warehouse, not warehouse tables.
NOT_WAREHOUSE = {"etl/stores/runs.py", "etl/stores/editions.py", "etl/stores/loop.py", "etl/stores/sensitivity.py"}


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            out.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):  # f-strings: their literal parts
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
            out.append((node.lineno, text))
    return out


def test_no_module_but_the_registry_declares_a_table() -> None:
    offenders = []
    for package in ("etl", "app", "indicators"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == "etl/warehouse/ddl.py" or rel in NOT_WAREHOUSE:
                continue
            for lineno, text in _string_constants(path):
                if CREATE.search(text):
                    offenders.append(f"{rel}:{lineno}: {text.strip().splitlines()[0][:80]}")
    assert not offenders, "CREATE TABLE outside etl/warehouse/ddl.py:\n" + "\n".join(offenders)


def test_every_registered_table_can_be_created() -> None:
    with warehouse.connection(":memory:") as con:
        ddl.create(con, *ddl.REGISTRY)
        assert set(ddl.REGISTRY) <= set(warehouse.table_names(con))
    assert set(tables.LOAD_ORDER) <= set(ddl.REGISTRY)


def test_an_unknown_table_is_refused() -> None:
    with pytest.raises(ddl.DDLError, match="not_a_table"):
        ddl.create_statement("not_a_table")


def test_sql_types_have_one_home() -> None:
    """SQL_TYPES lives in etl.warehouse.ddl; the connection module no longer re-exports it (importers take it from
    its home, so a second name for it cannot drift)."""
    from etl.warehouse import connection, ddl

    assert "SQL_TYPES" not in vars(connection)
    assert ddl.SQL_TYPES["str"]
