"""Logging from the configuration: level and JSON lines for every command (etl/logs.py)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from etl.config import ConfigError, load_config
from etl.logs import configure_logging


@pytest.fixture()
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)  # configure_logging turned it on: give the next test warnings as they were


def test_json_lines_at_the_configured_level(restore_root: None, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = load_config(env={"GOVINDEX_LOG_FORMAT": "JSON", "GOVINDEX_LOG_LEVEL": "warning"})
    configure_logging(cfg.logging)
    configure_logging(cfg.logging)  # again: still one handler
    log = logging.getLogger("govindex.test")
    log.info("not shown")
    log.warning("刷新失败 %s", 3, extra={"status": 500})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert obj["level"] == "WARNING" and obj["logger"] == "govindex.test" and obj["message"] == "刷新失败 3"
    assert obj["status"] == 500 and obj["time"].endswith("+00:00")


def test_bad_logging_and_warehouse_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="GOVINDEX_LOG_LEVEL"):
        load_config(env={"GOVINDEX_LOG_LEVEL": "loud"})
    with pytest.raises(ConfigError, match="GOVINDEX_DUCKDB_MEMORY_LIMIT"):
        load_config(env={"GOVINDEX_DUCKDB_MEMORY_LIMIT": "lots"})
    cfg = load_config(env={"GOVINDEX_DUCKDB_MEMORY_LIMIT": "4GB", "GOVINDEX_DUCKDB_THREADS": "2"})
    assert (cfg.warehouse.memory_limit, cfg.warehouse.threads) == ("4GB", 2)


def test_python_warnings_are_json_lines_too(restore_root: None, capsys: pytest.CaptureFixture[str]) -> None:
    """A library's warning (pyspark's FutureWarning about pandas 3 when pandera imports it) is one JSON line like
    every other, not bare text that breaks a reader of format = json."""
    import warnings

    cfg = load_config(env={"GOVINDEX_LOG_FORMAT": "json", "GOVINDEX_LOG_LEVEL": "info"})
    configure_logging(cfg.logging)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("库版本不受支持 unsupported version", FutureWarning, stacklevel=1)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines, "the warning must be logged"
    objs = [json.loads(line) for line in lines]  # every line JSON
    assert any(o["logger"] == "py.warnings" and o["level"] == "WARNING" and "unsupported version" in o["message"]
               for o in objs)


def test_warnings_are_logged_again_after_something_restored_the_printer(
    restore_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """configure_logging routes warnings to the log even when they were routed once and something (a library's
    `warnings.catch_warnings()`, pytest between tests) has since put back the printer it replaced: logging's own
    captureWarnings(True) is then a no-op, and the warnings came out as bare text again."""
    import warnings

    cfg = load_config(env={"GOVINDEX_LOG_FORMAT": "json", "GOVINDEX_LOG_LEVEL": "info"})
    with warnings.catch_warnings():  # routed, then restored on leaving the block
        configure_logging(cfg.logging)
    configure_logging(cfg.logging)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("第二次配置 configured twice", UserWarning, stacklevel=1)
    objs = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert any(o["logger"] == "py.warnings" and "configured twice" in o["message"] for o in objs), objs
