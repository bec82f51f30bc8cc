"""Choosing the indicator stage's engine: configuration, the refresh step's choice and `govindex refresh --engine`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli.refresh import refresh
from etl.config import ConfigError, load_config
from etl.jobs.refresh_steps import indicator_engine


def test_duckdb_is_the_default_engine_and_needs_no_spark() -> None:
    config = load_config(None, env={})
    assert config.engine.indicators == "duckdb" and config.spark.master == "local[*]"
    assert config.spark.driver_memory == "1g" and config.spark.local_ip == "127.0.0.1"
    assert indicator_engine(config) is None


def test_the_engine_comes_from_the_environment_or_an_option_and_unknown_ones_are_refused(tmp_path: Path) -> None:
    assert load_config(None, env={"GOVINDEX_ENGINE": "spark"}).engine.indicators == "spark"
    assert load_config(None, env={}, overrides={"engine.indicators": "spark"}).engine.indicators == "spark"
    with pytest.raises(ConfigError, match="GOVINDEX_ENGINE.*duckdb.*spark"):
        load_config(None, env={"GOVINDEX_ENGINE": "postgres"})
    with pytest.raises(ConfigError, match="GOVINDEX_SPARK_DRIVER_MEMORY"):
        load_config(None, env={"GOVINDEX_SPARK_DRIVER_MEMORY": "lots"})
    cfg = tmp_path / "govindex.toml"
    cfg.write_text('[spark]\nparquet_dir = "export"\n', encoding="utf-8")
    assert load_config(cfg, env={}).spark.parquet_dir == tmp_path / "export"  # relative to the file


def test_refresh_help_offers_the_engine() -> None:
    out = CliRunner().invoke(refresh, ["--help"]).output
    assert "--engine [duckdb|spark]" in out and "Apache Spark" in out
    bad = CliRunner().invoke(refresh, ["--engine", "postgres"])
    assert bad.exit_code != 0 and "postgres" in bad.output
