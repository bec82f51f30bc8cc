"""The DuckDB warehouse: connections, DDL, indicator values and the read models pages and jobs use."""
