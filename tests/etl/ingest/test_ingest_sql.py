"""SQL fragments the ingest builds: the key-as-JSON expression is built per table alias, never by text replacement."""

from __future__ import annotations

import json

from etl.ingest.files import key_json_sql
from etl.warehouse import connection as warehouse


def test_key_json_reads_the_key_from_the_named_alias_even_when_a_column_name_holds_the_alias() -> None:
    # A column called "class.s" contains "s.": editing "s." into "t." in the text would rename the column too.
    key = [warehouse.quote("class.s"), warehouse.quote("days")]
    with warehouse.connection(":memory:") as con:
        warehouse.execute(con, 'CREATE TEMP TABLE a ("class.s" VARCHAR, "days" BIGINT)')
        warehouse.execute(con, "INSERT INTO a VALUES ('x', 1)")
        warehouse.execute(con, 'CREATE TEMP TABLE b ("class.s" VARCHAR, "days" BIGINT)')
        warehouse.execute(con, "INSERT INTO b VALUES ('y', 2)")
        for alias, expected in (("s", {"class.s": "x", "days": 1}), ("t", {"class.s": "y", "days": 2})):
            sql = f"SELECT {key_json_sql(key, alias)}::VARCHAR FROM a AS s, b AS t"
            assert json.loads(warehouse.scalar(con, sql)) == expected
